"""The customer's profile in the agent console, in a real browser (Chromium via Playwright)
against the hub's web app on a temporary SQLite database (no Rasa: handoffs are made through
the handoff service): the Customer card with the shop's attributes (escaped), notes on the
customer, merging a Telegram profile into a web one and undoing it, "Customer is typing…",
the agent's typing told to the server at most every 2 s, and no active Claim after a reload
when another agent has the conversation."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.app import create_app
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from bot.storage.models import Customer as CustomerRow
from tests.e2e.console_site import chromium, console_hub, request_handoff, signed_in
from tests.e2e.test_browser import PASSWORD, Watch
from tests.e2e.test_browser import pytestmark as browser_marks
from tests.support import serve

pytestmark = browser_marks

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "customer-profile.png"
SNEAKY = '<img src=x onerror="window.__owned=1">'


class Site:
    def __init__(self, url: str, hub: Hub) -> None:
        self.url, self.hub = url, hub
        self.ids: dict[str, int] = {}
        self.customers: dict[str, int] = {}

    async def handoff(self, channel: str, chat: str, text: str, who: Customer) -> int:
        handoff_id, conversation = await request_handoff(
            self.hub, IncomingMessage(channel, chat, text, who)
        )
        self.ids[chat] = handoff_id
        self.customers[chat] = conversation.customer_id
        return handoff_id


@pytest.fixture(scope="module")
async def site(base_settings: Settings, tmp_path_factory) -> AsyncIterator[Site]:
    var = tmp_path_factory.mktemp("profile-var")
    # handoffs wait to be claimed by hand
    hub = console_hub(base_settings, var, routing_auto_assign=False)
    async with serve(create_app(hub)) as url:
        await hub.agents.create("ana", PASSWORD, role="agent", display_name="Ana")
        ben = await hub.agents.create("ben", PASSWORD, role="agent", display_name="Ben")
        site = Site(url, hub)
        mira = Customer(
            "w-mira",
            "Mira",
            email="mira@example.org",
            attributes={
                "plan": "Pro",
                "order": "A-1042",
                "page_url": "https://shop.example/cart",
                "coupon": SNEAKY,
            },
        )
        await site.handoff("web", "w-mira", "my parcel never arrived", mira)
        telegram = await site.handoff(
            "telegram", "555", "it's Mira again, about the parcel", Customer("555", "Mira K")
        )
        await hub.handoffs.claim(telegram, ben)
        await hub.handoffs.resolve(telegram, ben, "sent a new parcel", False)
        await site.handoff(
            "web", "w-pavel", "I need to change my order", Customer("w-pavel", "Pavel")
        )
        await trigger(site)
        yield site


REFUNDS = {"id": "refunds", "title": "Refunds", "score": 0.48}
RETURNS = {"id": "returns", "title": "Return an item", "score": 0.46}


async def trigger(site: Site) -> None:
    """Olga: an answered question, a clarify she never picked, then "a person, please"."""
    store, who = site.hub.store, Customer("w-olga", "Olga")
    turns = [
        ("how do I reset my password", "question", {"decision": "answer", "article": "reset"}),
        (
            "where is my money for the returned shoes",
            "question",
            {"decision": "clarify", "candidates": [REFUNDS, RETURNS]},
        ),
        ("a person please", "ask_human", None),
    ]
    for text, intent, kb in turns:
        stored = await store.store_incoming(IncomingMessage("web", "w-olga", text, who))
        await store.annotate(stored.message.id, intent, 0.9, kb)
    await site.hub.handoffs.request(stored.conversation, "requested", 0.0, {})
    handoff = await site.hub.handoffs.open_for(stored.conversation.id)
    assert handoff is not None
    site.ids["w-olga"] = handoff.id


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def console(browser: Browser, site: Site, who: str, watch: Watch) -> Page:
    return await signed_in(browser, site.url, who, watch, width=1440, height=1100)


async def open_handoff(page: Page, handoff_id: int) -> None:
    await page.locator(f'#queue .queue-item[data-handoff-id="{handoff_id}"]').click()
    await expect(page.locator("#context-body")).to_have_attribute(
        "data-handoff-id", str(handoff_id)
    )


async def test_the_customer_card_merge_and_undo(browser: Browser, site: Site):
    watch = Watch()
    ana = await console(browser, site, "ana", watch)
    await open_handoff(ana, site.ids["w-mira"])

    card = ana.locator("#customer-card")
    await expect(card.locator("#cust-name")).to_have_text("Mira")
    await expect(card.locator("#cust-verified")).to_have_text("not verified")
    await expect(card.locator("#cust-email")).to_have_text("mira@example.org")
    attribute = card.locator("#cust-attributes dd")
    await expect(attribute.and_(ana.locator('[data-attribute="plan"]'))).to_have_text("Pro")
    await expect(attribute.and_(ana.locator('[data-attribute="order"]'))).to_have_text("A-1042")
    await expect(attribute.and_(ana.locator('[data-attribute="page_url"]'))).to_have_text(
        "https://shop.example/cart"
    )
    # whatever the shop's page passed is text, never markup
    await expect(attribute.and_(ana.locator('[data-attribute="coupon"]'))).to_have_text(SNEAKY)
    conversations = card.locator("#cust-conversations li")
    await expect(conversations).to_have_count(1)
    await expect(conversations).to_contain_text("this conversation")

    await ana.fill("#cust-note-text", "<b>VIP</b> since 2019")
    await ana.click("#cust-note-add")
    await expect(card.locator("#cust-notes .note-text")).to_have_text(["<b>VIP</b> since 2019"])

    # the Telegram profile of the same person, found by name, merged into this one
    await ana.click("#cust-merge summary")
    await ana.fill("#merge-search", "Mira K")
    await ana.press("#merge-search", "Enter")
    found = card.locator(f'#merge-results li[data-customer-id="{site.customers["555"]}"]')
    await found.locator(".merge-this").click()
    await expect(card.locator("#cust-channel")).to_have_text("telegram, web")
    await expect(conversations).to_have_count(2)
    telegram = conversations.and_(ana.locator('[data-conversation="telegram:555"]'))
    await expect(telegram).to_contain_text("resolved by Ben")
    await expect(telegram).to_contain_text("it's Mira again, about the parcel")
    await expect(card.locator("#cust-merges li")).to_contain_text("Merged: Mira K · telegram")
    await expect(card.locator("#cust-notes .note-text")).to_have_text(["<b>VIP</b> since 2019"])
    if os.environ.get("UPDATE_SCREENSHOTS"):
        await ana.locator("#flash").click()  # out of the picture
        await ana.screenshot(path=str(SCREENSHOT))

    # undone: two profiles again, exactly as before
    await card.locator("#cust-merges .undo-merge").click()
    await expect(card.locator("#cust-channel")).to_have_text("web")
    await expect(conversations).to_have_count(1)
    await expect(card.locator("#cust-merges li")).to_have_count(0)
    async with site.hub.db.session() as s:
        telegram_row = await s.get(CustomerRow, site.customers["555"])
        assert telegram_row is not None and telegram_row.merged_into is None

    assert await ana.evaluate("window.__owned === undefined")
    assert watch.dialogs == [] and watch.errors == []


async def test_typing_both_ways(browser: Browser, site: Site):
    watch = Watch()
    ana = await console(browser, site, "ana", watch)
    mira = site.ids["w-mira"]
    await open_handoff(ana, mira)
    await ana.click("#claim")
    await expect(ana.locator("#claim")).to_have_text("Claimed")

    # the customer types: shown in the open conversation, gone after a few seconds of quiet
    typing = ana.locator("#customer-typing")
    await expect(typing).to_be_hidden()
    assert await site.hub.handoffs.customer_typing("web:w-mira")
    await expect(typing).to_have_text("Customer is typing…")
    await expect(typing).to_be_visible()
    await expect(typing).to_be_hidden(timeout=8000)

    # the agent types: the server is told, at most once every 2 s, with the CSRF header
    told: list[dict[str, str]] = []
    ana.on(
        "request",
        lambda r: told.append(r.headers) if r.url.endswith(f"/handoffs/{mira}/typing") else None,
    )
    await ana.locator("#reply-text").press_sequentially("Let me check that", delay=40)
    await ana.wait_for_timeout(300)  # a request in flight arrives
    assert len(told) == 1 and told[0].get("x-csrf-token"), told
    await ana.wait_for_timeout(2100)
    await ana.locator("#reply-text").press_sequentially(" for you", delay=40)
    await ana.wait_for_timeout(300)
    assert len(told) == 2, told
    assert watch.dialogs == [] and watch.errors == []


async def test_the_summary_states_the_trigger(browser: Browser, site: Site):
    watch = Watch()
    ana = await console(browser, site, "ana", watch)
    await open_handoff(ana, site.ids["w-olga"])
    await expect(ana.locator("#sum-first")).to_have_text("where is my money for the returned shoes")
    await expect(ana.locator("#sum-why")).to_have_text("the customer asked for a person")
    await expect(ana.locator("#sum-tried li")).to_have_count(2)
    await expect(ana.locator("#sum-tried li").nth(1)).to_contain_text(
        "offered “Refunds” (0.48), “Return an item” (0.46); the customer picked none"
    )
    await expect(ana.locator("#sum-unanswered li")).to_have_text(
        ["where is my money for the returned shoes"]
    )
    assert watch.dialogs == [] and watch.errors == []


async def test_no_active_claim_after_a_reload_when_another_agent_has_it(
    browser: Browser, site: Site
):
    watch = Watch()
    ana = await console(browser, site, "ana", watch)
    pavel = site.ids["w-pavel"]
    await open_handoff(ana, pavel)
    await expect(ana.locator("#claim")).to_be_enabled()

    ben = await site.hub.agents.by_username("ben")
    assert ben is not None
    await site.hub.handoffs.claim(pavel, ben)
    await ana.reload()
    await expect(ana.locator("#conn")).to_have_text("live")
    await open_handoff(ana, pavel)
    await expect(ana.locator("#claim")).to_be_disabled()
    await expect(ana.locator("#claim")).to_have_text("Claimed by Ben")
    await expect(ana.locator("#ctx-status")).to_have_text("Claimed by Ben")
    assert watch.dialogs == [] and watch.errors == []
