"""Routing by language and capacity in a real browser (Chromium via Playwright): two agents
online in the console (the hub's web app on a temporary SQLite database, no Rasa: handoffs are
requested through the handoff service as the router does). Ana speaks Bosnian and Croatian and
takes one conversation at a time; Ben speaks English and takes two. A Bosnian customer lands in
Ana's Mine view, an English one in Ben's; with Ana full the next Bosnian customer goes to Ben;
with both full the next one waits in Unassigned, until Ana resolves hers and it is hers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from bot.app import create_app
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from tests.e2e.console_site import chromium, console_hub, request_handoff, signed_in
from tests.e2e.test_browser import PASSWORD, Watch
from tests.e2e.test_browser import pytestmark as browser_marks
from tests.support import serve

pytestmark = browser_marks


class Site:
    def __init__(self, url: str, hub: Hub) -> None:
        self.url, self.hub = url, hub

    async def handoff(self, chat: str, name: str, text: str, language: str) -> int:
        message = IncomingMessage("web", chat, text, Customer(chat, name), language=language)
        return (await request_handoff(self.hub, message))[0]


@pytest.fixture(scope="module")
async def site(base_settings: Settings, tmp_path_factory) -> AsyncIterator[Site]:
    var = tmp_path_factory.mktemp("routing-var")
    hub = console_hub(
        base_settings,
        var,
        teams_file=var / "no-teams.yml",  # one team, always open
        routing_auto_assign=True,
    )
    async with serve(create_app(hub)) as url:
        await hub.agents.create("ana", PASSWORD, role="agent", display_name="Ana")
        await hub.agents.create("ben", PASSWORD, role="agent", display_name="Ben")
        await hub.profiles.update("ana", {"languages": ["bs", "hr"], "max_open": 1})
        await hub.profiles.update("ben", {"languages": ["en"], "max_open": 2})
        yield Site(url, hub)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def console(browser: Browser, site: Site, who: str, watch: Watch) -> Page:
    page = await signed_in(browser, site.url, who, watch)
    await page.click('#views [data-view="mine"]')
    return page


def mine(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#queue .qi-name")


async def test_handoffs_go_by_language_then_capacity_to_the_agents_online(
    browser: Browser, site: Site
):
    watch = Watch()
    ana = await console(browser, site, "ana", watch)
    ben = await console(browser, site, "ben", watch)
    assert site.hub.events.online() == {"ana", "ben"}

    # a Bosnian customer: Ana's; an English one: Ben's (claimed for them, in their Mine view)
    await site.handoff("amra", "Amra", "Treba mi pomoć s narudžbom, molim vas.", "bs")
    await expect(mine(ana)).to_have_text(["Amra"])
    await site.handoff("john", "John", "I need help with my order, please.", "en")
    await expect(mine(ben)).to_have_text(["John"])
    await expect(mine(ana)).to_have_text(["Amra"])

    # Ana is at her capacity (1): the next Bosnian customer goes to Ben, who has room
    await site.handoff("edin", "Edin", "Gdje je moj paket?", "bs")
    await expect(mine(ben)).to_have_count(2)
    await expect(ben.locator("#queue")).to_contain_text("Edin")
    await expect(mine(ana)).to_have_text(["Amra"])

    # both full: Lejla waits, unassigned, and knows it
    lejla = await site.handoff("lejla", "Lejla", "Trebam promijeniti adresu.", "bs")
    await expect(ana.locator('#views [data-count="unassigned"]')).to_have_text("1")
    await ana.click('#views [data-view="unassigned"]')
    await expect(mine(ana)).to_have_text(["Lejla"])

    # Ana resolves Amra's conversation: she has room again and Lejla is hers
    amra = next(
        h["id"] for h in await site.hub.views.queue() if h["conversation_key"] == "web:amra"
    )
    agent = await site.hub.agents.by_username("ana")
    assert agent is not None
    await site.hub.handoffs.resolve(amra, agent, "sorted")
    await expect(ana.locator('#views [data-count="unassigned"]')).to_have_text("0")
    await ana.click('#views [data-view="mine"]')
    await expect(mine(ana)).to_have_text(["Lejla"])
    handoff, _ = await site.hub.handoffs.get(lejla)
    assert handoff.agent_id == agent.id and handoff.offered_to == agent.id
    assert watch.errors == [] and watch.dialogs == []
