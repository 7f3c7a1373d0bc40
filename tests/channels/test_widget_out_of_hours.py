"""Out of hours in a real browser (Chromium), with a fixed clock: the widget and the web channel
served for real with SQLite, the assistant played by tests/fake_rasa.py, the team's hours from a
teams file (Europe/Sarajevo, Monday to Friday 09:00-17:00). On a Friday evening the customer
who asks for a person is told honestly when we open and offered to leave an e-mail address;
the address they write is kept on their profile and confirmed; the handoff waits in the queue
for the agents' return."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.async_api import async_playwright, expect

from bot.cluster.events import LocalBus
from bot.conversation.outbox import Outbox
from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.handoff.hours import load_hours
from bot.handoff.queue_status import QueueStatus
from bot.i18n import t
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.models import Customer
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.channels.test_widget_waiting import ARGS, CHROMIUM, say
from tests.channels.test_widget_waiting import pytestmark as browser_marks
from tests.fake_rasa import FakeRasa
from tests.support import serve

pytestmark = browser_marks
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "out-of-hours.png"
TEAMS = """\
teams:
  support:
    time_zone: Europe/Sarajevo
    hours:
      mon-fri: "09:00-17:00"
"""
FRIDAY_EVENING = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)  # 20:30 in Sarajevo

expect.set_options(timeout=10_000)


@dataclass
class Shop:
    url: str
    channel: WebChannel
    handoffs: Handoffs
    store: Store


@pytest.fixture
async def shop(sqlite_store: Store, settings: Settings, tmp_path: Path) -> AsyncIterator[Shop]:
    (tmp_path / "teams.yml").write_text(TEAMS, encoding="utf-8")
    hours = load_hours(tmp_path / "teams.yml")
    async with serve(FakeRasa().app()) as rasa_url:
        rasa = RasaClient(rasa_url)
        queue = QueueStatus(sqlite_store.db, clock=lambda: FRIDAY_EVENING, hours=hours)
        channels: dict[str, WebChannel] = {}
        outbox = Outbox(LocalBus(), channels)
        handoffs = Handoffs(
            sqlite_store.db, sqlite_store, rasa, queue=queue, deliver=outbox.deliver
        )
        channel = channels["web"] = WebChannel(Router(sqlite_store, rasa, handoffs), settings)
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url:
            yield Shop(url, channel, handoffs, sqlite_store)


async def test_out_of_hours_the_widget_says_when_we_open_and_keeps_an_email(shop: Shop):
    errors: list[str] = []
    token = (await shop.channel.sessions.issue("evening")).token
    creds = json.dumps({"session": "evening", "token": token, "user": None})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(locale="en-US", viewport={"width": 900, "height": 760})
        await context.add_init_script(
            f"localStorage.setItem('supportbot-chat', {json.dumps(creds)})"
        )
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(shop.url + "/")
        log = page.locator("#sb-log")
        await expect(page.locator("#sb-status")).to_have_text("online")

        await say(page, "handoff please")
        closed = log.locator(".sb-system").last
        await expect(closed).to_contain_text(
            "We're closed now. We open at Monday 09:00 (Europe/Sarajevo time)."
        )
        await expect(closed).to_contain_text(t("leave_email"))
        await expect(closed).to_contain_text("You are number 1 in the queue.")
        await expect(closed).not_to_contain_text("min")  # no made-up wait while closed

        await say(page, "sure, it's amra.h@example.ba")
        await expect(log.locator(".sb-system").last).to_have_text(
            "Thanks! We'll write to amra.h@example.ba when we're back."
        )
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))

        conversation = await shop.store.conversation("web:evening")
        assert conversation is not None
        async with shop.store.db.session() as s:
            customer = await s.get(Customer, conversation.customer_id)
            assert customer is not None and customer.email == "amra.h@example.ba"
        handoff = await shop.handoffs.open_for(conversation.id)
        assert handoff is not None  # waiting for the agents' return
        assert (handoff.status, handoff.out_of_hours, handoff.team) == ("queued", True, "support")

        await page.reload()  # the transcript keeps what the customer was told
        await expect(log).to_contain_text("We open at Monday 09:00 (Europe/Sarajevo time).")
        await expect(log).to_contain_text("We'll write to amra.h@example.ba")
        await browser.close()
    assert errors == []
