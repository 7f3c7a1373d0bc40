"""What the console's browser tests share (tests/e2e/test_routing.py, test_inbox.py,
test_customer_profile.py, test_reports.py): the hub's web app alone, with no Rasa and no
articles, on a temporary SQLite database; handoffs requested as the router requests them; a
headless Chromium; an agent signed in to the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright, expect

from bot.hub import Hub
from bot.messages import IncomingMessage
from bot.settings import Settings
from bot.storage.models import Conversation
from tests.conftest import free_port
from tests.e2e.test_browser import ARGS, CHROMIUM, PASSWORD, Watch


def console_hub(base_settings: Settings, var: Path, **settings: Any) -> Hub:
    """A hub with nobody at RASA_URL (pause/resume are skipped) and no articles in `var`."""
    (var / "no-articles").mkdir(exist_ok=True)
    return Hub(
        base_settings.with_(
            var_dir=var,
            index_dir=var / "kb-index",
            articles_dir=var / "no-articles",
            rasa_managed=False,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            **settings,
        )
    )


async def request_handoff(
    hub: Hub, message: IncomingMessage, reason: str = "requested", score: float = 0.0
) -> tuple[int, Conversation]:
    """Store the customer's message and queue it for a person; the handoff's id."""
    stored = await hub.store.store_incoming(message)
    await hub.handoffs.request(stored.conversation, reason, score, {})
    handoff = await hub.handoffs.open_for(stored.conversation.id)
    assert handoff is not None
    return handoff.id, stored.conversation


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def sign_in(page: Page, username: str) -> None:
    await page.fill("#login-username", username)
    await page.fill("#login-password", PASSWORD)
    await page.click("#login-submit")


async def signed_in(
    browser: Browser,
    url: str,
    who: str,
    watch: Watch,
    width: int = 1024,
    height: int = 768,
    init_script: str | None = None,
) -> Page:
    """A new browser context with `who` signed in to the console and its socket live."""
    context = await browser.new_context(locale="en-US", viewport={"width": width, "height": height})
    if init_script:
        await context.add_init_script(init_script)
    page = watch.attach(await context.new_page())
    await page.goto(url + "/agent")
    await sign_in(page, who)
    await expect(page.locator("#conn")).to_have_text("live")
    return page
