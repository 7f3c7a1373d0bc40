"""The agents' inbox in a real browser (Chromium via Playwright) against the hub's web app on a
temporary SQLite database (no Rasa: the handoffs are made through the handoff service): views
with counts, readable priority, search, the resolved conversation with its rating and note,
labels, "Ben is viewing", no Claim after a transfer, a notification and a beep for a new
handoff while the tab is in the background, the layout at 1024 px and on a phone."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from bot.app import create_app
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from bot.storage.models import Handoff, Rating, utcnow
from tests.e2e.console_site import chromium, console_hub, request_handoff, signed_in
from tests.e2e.test_browser import PASSWORD, Watch
from tests.e2e.test_browser import pytestmark as browser_marks
from tests.support import serve

pytestmark = browser_marks

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "agent-inbox.png"
COMMENT = "took <b>ages</b>"

# the tab "in the background" on demand, and desktop notifications recorded
BACKGROUND = """
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true, get() { return window.__background === true; } });
window.__notified = [];
window.Notification = class {
  constructor(title, options) { window.__notified.push([title, (options || {}).body]); }
  close() {}
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


class Site:
    def __init__(self, url: str, hub: Hub, ids: dict[str, int]) -> None:
        self.url, self.hub, self.ids = url, hub, ids

    async def handoff(self, chat: str, name: str, text: str, reason: str, score: float) -> int:
        message = IncomingMessage("web", chat, text, Customer(chat, name))
        self.ids[chat] = (await request_handoff(self.hub, message, reason, score))[0]
        return self.ids[chat]


@pytest.fixture(scope="module")
async def site(base_settings: Settings, tmp_path_factory) -> AsyncIterator[Site]:
    var = tmp_path_factory.mktemp("inbox-var")
    # claimed by hand here (routing: tests/e2e/test_routing.py)
    hub = console_hub(base_settings, var, routing_auto_assign=False)
    async with serve(create_app(hub)) as url:
        ana = await hub.agents.create("ana", PASSWORD, role="agent", display_name="Ana")
        await hub.agents.create("ben", PASSWORD, role="agent", display_name="Ben")
        site = Site(url, hub, {})
        marko = await site.handoff("marko", "Marko", "my parcel is 100% lost", "requested", 0.0)
        lena = await site.handoff("lena", "Lena", "this is useless, refund me", "frustration", 0.9)
        ivo = await site.handoff("ivo", "Ivo", "change my delivery address", "unanswered", 0.0)
        await hub.handoffs.claim(marko, ana)
        await hub.handoffs.claim(ivo, ana)
        await hub.handoffs.reply(ivo, ana, "Done: the address is Main Street 5.")
        await hub.handoffs.resolve(ivo, ana, "address changed by hand", True)
        async with hub.db.session() as s:
            twelve_minutes_ago = utcnow() - timedelta(minutes=12, seconds=5)
            await s.execute(
                update(Handoff).where(Handoff.id == lena).values(created_at=twelve_minutes_ago)
            )
            ivo_row = await s.get(Handoff, ivo)
            assert ivo_row is not None
            s.add(
                Rating(
                    conversation_id=ivo_row.conversation_id,
                    handoff_id=ivo,
                    kind="csat",
                    score=2,
                    comment=COMMENT,
                )
            )
            await s.commit()
        yield site


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def console(browser: Browser, site: Site, who: str, watch: Watch, **size: int) -> Page:
    return await signed_in(browser, site.url, who, watch, **size, init_script=BACKGROUND)


def row(page: Page, handoff_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f'#queue .queue-item[data-handoff-id="{handoff_id}"]')


async def test_an_agent_works_the_inbox(browser: Browser, site: Site):
    watch = Watch()
    ids = site.ids
    ana = await console(browser, site, "ana", watch)

    # all open, sorted as ever; the priority reads as reason and wait
    names = ana.locator("#queue .qi-name")
    await expect(names).to_have_text(["Lena", "Marko"])
    await expect(row(ana, ids["lena"]).locator(".prio")).to_have_text("frustrated · waiting 12 min")
    await expect(row(ana, ids["marko"]).locator(".prio")).to_contain_text("requested a person · ")
    await expect(ana.locator('#views [data-count="mine"]')).to_have_text("1")
    await expect(ana.locator('#views [data-count="unassigned"]')).to_have_text("1")
    await expect(ana.locator('#views [data-count="resolved"]')).to_have_text("1")

    # the resolved view keeps the conversation with its rating, comment and note
    await ana.click('#views [data-view="resolved"]')
    await expect(names).to_have_text(["Ivo"])
    resolved = row(ana, ids["ivo"])
    await expect(resolved.locator(".qi-rating")).to_have_text(f"Rated 2/5: “{COMMENT}”")
    await expect(resolved.locator(".qi-note")).to_have_text("Note: address changed by hand")
    await resolved.click()
    await expect(ana.locator("#out-rating")).to_have_text("2/5")
    await expect(ana.locator("#out-comment")).to_have_text(COMMENT)  # text, not markup
    await expect(ana.locator("#out-note")).to_have_text("address changed by hand")

    # search over transcripts: the agent's reply, then a literal % sign
    await ana.fill("#search", "main street")
    await expect(names).to_have_text(["Ivo"])
    await ana.click('#views [data-view="open"]')
    await ana.fill("#search", "100%")
    await expect(names).to_have_text(["Marko"])
    await ana.fill("#search", "")
    await expect(names).to_have_text(["Lena", "Marko"])

    # the side panel is beside the transcript at 1024 px
    await row(ana, ids["marko"]).click()
    await expect(ana.locator("#ctx-customer")).to_have_text("Marko")
    transcript = await ana.locator(".conv").bounding_box()
    side = await ana.locator(".side").bounding_box()
    assert transcript and side
    assert side["x"] >= transcript["x"] + transcript["width"] - 1, (transcript, side)
    assert abs(side["y"] - transcript["y"]) < 2 and transcript["width"] >= 400

    # labels: added, shown on the row, filtered by
    await ana.fill("#label-text", "VIP")
    await ana.click("#label-add")
    await expect(ana.locator("#labels li")).to_have_text(["vip×"])
    await expect(row(ana, ids["marko"]).locator(".qlabel")).to_have_text("vip")
    await ana.locator("#label-filter").select_option("vip")
    await expect(names).to_have_text(["Marko"])

    # Ben opens the same conversation: Ana sees him there
    ben = await console(browser, site, "ben", watch)
    await row(ben, ids["marko"]).click()
    await expect(ana.locator("#ctx-viewers")).to_have_text("Ben is viewing")
    await expect(row(ana, ids["marko"]).locator(".qi-owner")).to_have_text(
        "Claimed by you · Ben viewing"
    )

    # Ana transfers it to Ben: her Claim is no longer active, live
    await ana.locator("#transfer-agent").select_option("ben")
    await ana.click("#transfer")
    await expect(ana.locator("#claim")).to_be_disabled()
    await expect(ana.locator("#claim")).to_have_text("Transferred to Ben")
    await expect(ben.locator("#ctx-status")).to_have_text("Claimed by you")
    await expect(ana.locator('#views [data-count="mine"]')).to_have_text("0")
    await save_screenshot(ana)

    # a new handoff while Ana's tab is in the background: a notification and a beep
    await ana.locator("#label-filter").select_option("")
    await ana.evaluate("window.__background = true")
    nina = await site.handoff("nina", "Nina", "where is my refund", "requested", 0.0)
    await expect(ana.locator("body")).to_have_attribute("data-beeps", "1")
    notified = await ana.evaluate("window.__notified")
    assert [title for title, _ in notified] == ["New handoff: Nina"], notified
    assert notified[0][1].startswith("requested a person · waiting "), notified
    await expect(row(ana, nina)).to_be_visible()
    # muted: no sound for the next one
    await ana.evaluate("window.__background = false")
    await ana.click("#sound-toggle")  # off (turning it on again would beep as a sample)
    await expect(ana.locator("#sound-toggle")).to_have_text("Sound off")
    await ana.evaluate("window.__background = true")
    olga = await site.handoff("olga", "Olga", "hello?", "requested", 0.0)
    await expect(row(ana, olga)).to_be_visible()
    await ana.wait_for_timeout(300)
    await expect(ana.locator("body")).to_have_attribute("data-beeps", "1")

    # a phone: one column, the inbox above the conversation
    phone = await console(browser, site, "ben", watch, width=390, height=844)
    pane = await phone.locator("#queue-pane").bounding_box()
    assert pane and pane["width"] >= 380
    await row(phone, ids["marko"]).click()
    await expect(phone.locator("#ctx-customer")).to_have_text("Marko")
    context = await phone.locator("#context").bounding_box()
    assert context and context["y"] >= pane["y"] + pane["height"] - 1
    assert watch.dialogs == [] and watch.errors == []


async def save_screenshot(page: Page) -> None:
    """docs/agent-inbox.png, only when asked (UPDATE_SCREENSHOTS=1)."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        await page.screenshot(path=str(SCREENSHOT))
