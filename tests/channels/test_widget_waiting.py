"""The waiting customer in a real browser (Chromium), fast: the widget and the web channel
served for real over HTTP and websockets with SQLite, the assistant played by tests/fake_rasa.py.
The widget shows the queue position and the acknowledgement, the header tells where the
conversation stands, the agent's join notice, typing and name arrive, and the rating buttons
survive a reload."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, async_playwright, expect

from bot.cluster.events import LocalBus
from bot.console.auth import AgentDirectory
from bot.conversation.outbox import Outbox
from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.i18n import t
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.fake_rasa import FakeRasa
from tests.support import serve

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "widget-waiting.png"

expect.set_options(timeout=10_000)


@dataclass
class Shop:
    url: str
    channel: WebChannel
    handoffs: Handoffs
    store: Store


@pytest.fixture
async def shop(sqlite_store: Store, settings: Settings) -> AsyncIterator[Shop]:
    async with serve(FakeRasa().app()) as rasa_url:
        rasa = RasaClient(rasa_url)
        bus, channels = LocalBus(), dict[str, WebChannel]()
        outbox = Outbox(bus, channels)
        handoffs = Handoffs(
            sqlite_store.db,
            sqlite_store,
            rasa,
            bus=bus,
            deliver=outbox.deliver,
            signal=outbox.signal,
        )
        channel = channels["web"] = WebChannel(Router(sqlite_store, rasa, handoffs), settings)
        handoffs.queue.ack_every = timedelta(0)  # every message acknowledged, for the test
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url:
            yield Shop(url, channel, handoffs, sqlite_store)


async def say(page: Page, text: str) -> None:
    await page.fill("#sb-input", text)
    await page.press("#sb-input", "Enter")


async def test_the_waiting_customer_sees_position_acknowledgement_join_and_name(shop: Shop):
    errors: list[str] = []
    token = (await shop.channel.sessions.issue("waiting")).token
    creds = json.dumps({"session": "waiting", "token": token, "user": None})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(locale="en-US", viewport={"width": 900, "height": 760})
        await context.add_init_script(
            f"localStorage.setItem('supportbot-chat', {json.dumps(creds)})"
        )
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(shop.url + "/")
        log, status = page.locator("#sb-log"), page.locator("#sb-status")
        await expect(status).to_have_text("online")

        await say(page, "handoff please")
        await expect(log).to_contain_text("You are number 1 in the queue.")
        await expect(log).to_contain_text("We can't estimate the wait yet.")
        await expect(status).to_have_text("waiting for a person (position 1)")
        await say(page, "Are you there?")
        await expect(log.locator(".sb-system").last).to_have_text(
            "Thanks, your message is with our team. You are number 1 in the queue. "
            "We can't estimate the wait yet."
        )

        ana = await AgentDirectory(shop.store.db).create("ana", "correct horse", display_name="Ana")
        conversation = await shop.store.conversation("web:waiting")
        assert conversation
        handoff = await shop.handoffs.open_for(conversation.id)
        assert handoff
        await shop.handoffs.claim(handoff.id, ana)
        await expect(log).to_contain_text("Ana joined the conversation.")
        await expect(status).to_have_text("Ana")
        await shop.handoffs.agent_typing(handoff.id, ana)
        await expect(page.locator("#sb-typing")).to_have_text("Ana is typing…")
        await shop.handoffs.reply(handoff.id, ana, "Hi, I'm <b>Ana</b> and I can help.")
        bubble = log.locator(".sb-agent").last
        await expect(bubble.locator(".sb-name")).to_have_text("Ana")
        await expect(bubble).to_contain_text("Hi, I'm <b>Ana</b> and I can help.")  # as text
        await expect(page.locator("#sb-typing")).to_have_text("")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))

        await page.reload()  # the header's truth and the agent's name survive a reload
        await expect(status).to_have_text("Ana")
        await expect(log.locator(".sb-agent .sb-name").last).to_have_text("Ana")

        # resolved: back to the bot; the rating buttons survive a reload and still work
        await shop.handoffs.resolve(handoff.id, ana, "helped")
        await expect(status).to_have_text("online")
        buttons = log.locator(".sb-buttons button")
        await expect(buttons).to_have_count(5)
        await page.reload()
        await expect(status).to_have_text("online")
        await expect(buttons).to_have_count(5)
        await buttons.nth(4).click()
        await expect(log).to_contain_text(t("rating_thanks"))
        await browser.close()
    assert errors == []
