"""The Slack agent desk: the real slack-bolt AsyncApp served by uvicorn, requests signed like
Slack signs them, slack-sdk's AsyncWebClient talking to a local fake Slack Web API, and the
hub's real handoffs on SQLite."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from bot.cluster.events import Event
from bot.console.auth import AgentDirectory
from bot.handoff.handoffs import RATING_QUESTION
from bot.hub import Hub
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.settings import Settings
from tests.conftest import free_port
from tests.fake_slack import FakeSlack, signed
from tests.support import deliveries, serve, slack_signed

SECRET = "desk-signing-secret"
DESK = "CDESK"
INJECTION = "my order never came <!channel> see <https://evil.example|here> & thanks"
_ids = itertools.count(1)


@dataclass
class Desk:
    hub: Hub
    slack: FakeSlack
    url: str  # the desk's /slack/desk/events
    http: httpx.AsyncClient
    delivered: list[tuple[str, OutgoingMessage]]

    async def post(self, body: str, content_type: str, secret: str = SECRET, **kw: Any) -> int:
        headers = {"Content-Type": content_type, **signed(body, secret, **kw)}
        response = await self.http.post(self.url, content=body, headers=headers)
        return response.status_code

    async def click(self, user: str, action: str, handoff_id: int, **kw: Any) -> int:
        posted = await self.hub.desk.store.message(handoff_id)  # type: ignore[union-attr]
        assert posted
        payload = {
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "fake"},
            "user": {"id": user, "team_id": "T0001"},
            "api_app_id": "ADESK",
            "trigger_id": f"trigger-{next(_ids)}",
            "container": {"type": "message", "message_ts": posted.ts, "channel_id": DESK},
            "channel": {"id": DESK, "name": "support-desk"},
            "message": {"type": "message", "ts": posted.ts, "text": "handoff"},
            "actions": [
                {
                    "type": "button",
                    "action_id": action,
                    "block_id": "actions",
                    "value": str(handoff_id),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def say_in_thread(self, user: str, handoff_id: int, text: str) -> int:
        posted = await self.hub.desk.store.message(handoff_id)  # type: ignore[union-attr]
        assert posted
        n = next(_ids)
        event = {
            "type": "message",
            "channel": DESK,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": f"{int(time.time())}.{n:06d}",
            "thread_ts": posted.ts,
            "client_msg_id": f"msg-{n}",
        }
        body = json.dumps(
            {
                "token": "unused",
                "team_id": "T0001",
                "api_app_id": "ADESK",
                "type": "event_callback",
                "event_id": f"Ev{n:08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return await self.post(body, "application/json")

    async def settle(self) -> None:
        """Bolt answers Slack at once and runs listeners after: wait for them and the worker."""
        for _ in range(10):
            await asyncio.sleep(0.05)
            await self.hub.desk.drain()  # type: ignore[union-attr]

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting for the desk"
            await asyncio.sleep(0.05)
        await self.settle()

    async def queue(self, chat: str = "c1", text: str = INJECTION) -> int:
        stored = await self.hub.store.store_incoming(
            IncomingMessage("web", chat, text, Customer(chat, "Ana <!here> Customer"))
        )
        await self.hub.handoffs.request(stored.conversation, "requested", 0.2, {})
        handoff = await self.hub.handoffs.open_for(stored.conversation.id)
        assert handoff
        await self.settle()
        return handoff.id

    async def state(self, chat: str = "c1") -> str:
        conversation = await self.hub.store.conversation(f"web:{chat}")
        assert conversation
        return conversation.state


def desk_app(hub: Hub) -> FastAPI:
    assert hub.desk
    app = FastAPI()
    app.include_router(hub.desk.routes())
    return app


def desk_settings(settings: Settings, slack_url: str) -> Settings:
    return settings.with_(
        rasa_managed=False,
        rasa_url=f"http://127.0.0.1:{free_port()}",  # nobody there: pause/resume are skipped
        rasa_timeout=1.0,
        slack_desk_bot_token="xoxb-desk",
        slack_desk_signing_secret=SECRET,
        slack_desk_channel=DESK,
        slack_api_url=f"{slack_url}/api/",
    )


def _announcement(message: OutgoingMessage) -> bool:
    return ((message.custom or {}).get("status") or {}).get("state") == "with_agent"


async def start_hub(settings: Settings, delivered: list[tuple[str, OutgoingMessage]]) -> Hub:
    hub = Hub(settings)
    assert hub.desk is not None
    await hub.db.migrate()

    async def deliver(event: Event) -> None:
        # what agents say and the surveys; "Ana joined" notices are tested in test_queue_status
        for key, message in deliveries(event):
            if not _announcement(message):
                delivered.append((key, message))

    hub.bus.subscribe(deliver, ["to_customer"])
    await hub.desk.start()
    return hub


@pytest.fixture
async def desk(settings: Settings, tmp_path: Path) -> AsyncIterator[Desk]:
    slack = FakeSlack(token="xoxb-desk", users={"UANA": "Ana Lima", "UBEN": "Ben Okafor"})
    async with serve(slack.app()) as slack_url:
        delivered: list[tuple[str, OutgoingMessage]] = []
        hub = await start_hub(desk_settings(settings, slack_url), delivered)
        try:
            async with serve(desk_app(hub)) as url, httpx.AsyncClient() as http:
                yield Desk(hub, slack, f"{url}/slack/desk/events", http, delivered)
        finally:
            await hub.desk.stop()  # type: ignore[union-attr]
            await hub.db.close()


def all_text(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks", [])) + params.get("text", "")


def buttons(params: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def test_a_queued_handoff_is_posted_with_its_summary_and_a_claim_button(desk: Desk):
    handoff_id = await desk.queue()
    (post,) = desk.slack.called("chat.postMessage")
    assert post["channel"] == DESK
    shown = all_text(post)
    assert "my order never came" in shown and "requested" in shown and "web" in shown
    assert buttons(post) == ["Claim"]
    # customer text cannot ping the channel or smuggle a link
    assert "<!channel>" not in shown and "<!here>" not in shown and "<https://" not in shown
    assert "&lt;!channel&gt;" in shown and "&lt;!here&gt;" in shown and "&amp; thanks" in shown
    saved = await desk.hub.desk.store.message(handoff_id)  # type: ignore[union-attr]
    assert saved and saved.channel == DESK and (DESK, saved.ts) in desk.slack.messages


async def test_claim_from_slack_and_a_second_clicker_is_told_who_has_it(desk: Desk):
    handoff_id = await desk.queue()
    assert await desk.click("UANA", "desk_claim", handoff_id) == 200
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    assert await desk.state() == "with_agent"
    update = desk.slack.called("chat.update")[-1]
    assert "Claimed by *Ana*" in all_text(update)
    assert buttons(update) == ["Resolve", "Resolve without survey"]
    ana = await AgentDirectory(desk.hub.db).by_username("slack-uana")
    assert ana and ana.display_name == "Ana" and ana.role == "agent"
    assert await AgentDirectory(desk.hub.db).login("slack-uana", "") is None

    assert await desk.click("UBEN", "desk_claim", handoff_id) == 200
    await desk.until(lambda: bool(desk.slack.called("chat.postEphemeral")))
    (told,) = desk.slack.called("chat.postEphemeral")
    assert told["user"] == "UBEN" and "already claimed by Ana" in told["text"]
    assert len(desk.slack.called("chat.update")) == 1  # the loser changed nothing


async def test_only_the_claiming_agent_talks_to_the_customer_from_the_thread(desk: Desk):
    handoff_id = await desk.queue()
    await desk.click("UANA", "desk_claim", handoff_id)
    await desk.until(lambda: bool(desk.slack.called("chat.update")))

    # as Slack sends it: &, <, > escaped, links in angle brackets
    slack_text = "It left today &amp; arrives in &lt;3 days: <https://t.example/42|track it>"
    assert await desk.say_in_thread("UANA", handoff_id, slack_text) == 200
    await desk.until(lambda: bool(desk.delivered))
    said = "It left today & arrives in <3 days: track it (https://t.example/42)"
    assert [(key, m.text, m.sender) for key, m in desk.delivered] == [("web:c1", said, "agent")]

    await desk.say_in_thread("UBEN", handoff_id, "Let me answer instead")
    await desk.until(lambda: bool(desk.slack.called("chat.postEphemeral")))
    (hint,) = desk.slack.called("chat.postEphemeral")
    assert hint["user"] == "UBEN" and "Only Ana" in hint["text"]
    await desk.say_in_thread("UBEN", handoff_id, "note: customer is a reseller")
    await desk.until(lambda: len(desk.slack.called("chat.postEphemeral")) == 2)

    transcript = await desk.hub.store.transcript("web:c1")
    said_by_agents = [m.text for m in transcript if m.sender == "agent"]
    assert said_by_agents == [said]
    context = await desk.hub.views.context(handoff_id)
    assert context and [n["text"] for n in context["notes"]] == ["customer is a reseller"]


async def test_customer_messages_and_console_replies_appear_in_the_thread(desk: Desk):
    handoff_id = await desk.queue()
    await desk.click("UANA", "desk_claim", handoff_id)
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    parent = desk.slack.called("chat.postMessage")[0]
    posted = await desk.hub.desk.store.message(handoff_id)  # type: ignore[union-attr]
    assert posted

    await desk.hub.router.handle(
        IncomingMessage("web", "c1", "Is it <!everyone> late?", Customer("c1", "Ana"), "v-7")
    )
    await desk.until(lambda: len(desk.slack.called("chat.postMessage")) == 2)
    in_thread = desk.slack.called("chat.postMessage")[1]
    assert in_thread["thread_ts"] == posted.ts and in_thread["channel"] == parent["channel"]
    assert in_thread["text"].endswith("Is it &lt;!everyone&gt; late?")

    # an admin answers from the web console: the Slack thread shows it too
    console = await AgentDirectory(desk.hub.db).create("maria", "long password", "admin", "Maria")
    await desk.hub.handoffs.transfer(handoff_id, console, console)
    await desk.hub.handoffs.reply(handoff_id, console, "Maria here, checking.")
    await desk.until(lambda: len(desk.slack.called("chat.postMessage")) == 3)
    assert desk.slack.called("chat.postMessage")[2]["text"] == (
        "*Maria (web console):* Maria here, checking."
    )


async def test_resolve_hands_back_to_the_bot_which_asks_for_a_rating(desk: Desk):
    handoff_id = await desk.queue()
    await desk.click("UANA", "desk_claim", handoff_id)
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    await desk.click("UBEN", "desk_resolve", handoff_id)  # not Ben's to resolve
    await desk.until(lambda: bool(desk.slack.called("chat.postEphemeral")))
    assert "Not resolved" in desk.slack.called("chat.postEphemeral")[0]["text"]
    assert await desk.state() == "with_agent"

    await desk.click("UANA", "desk_resolve", handoff_id)
    await desk.until(lambda: len(desk.slack.called("chat.update")) == 2)
    assert await desk.state() == "bot"
    assert [m.text for _, m in desk.delivered] == [RATING_QUESTION.format(agent="Ana")]
    final = desk.slack.called("chat.update")[-1]
    assert "Resolved by *Ana*" in all_text(final) and buttons(final) == []


async def test_resolve_without_survey_from_slack_asks_the_customer_nothing(desk: Desk):
    handoff_id = await desk.queue()
    await desk.click("UANA", "desk_claim", handoff_id)
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    await desk.click("UANA", "desk_resolve_quiet", handoff_id)
    await desk.until(lambda: len(desk.slack.called("chat.update")) == 2)
    assert await desk.state() == "bot"
    assert [m.text for _, m in desk.delivered] == [t("resolved_no_survey", agent="Ana")]
    handoff, _ = await desk.hub.handoffs.get(handoff_id)
    assert handoff.status == "resolved" and handoff.survey_skipped
    final = desk.slack.called("chat.update")[-1]
    assert "Resolved by *Ana* without a survey" in all_text(final) and buttons(final) == []


async def test_a_low_score_is_posted_to_the_desk_and_updated_with_the_comment(desk: Desk):
    handoff_id = await desk.queue()
    await desk.click("UANA", "desk_claim", handoff_id)
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    await desk.click("UANA", "desk_resolve", handoff_id)
    await desk.until(lambda: len(desk.slack.called("chat.update")) == 2)
    posts = len(desk.slack.called("chat.postMessage"))

    def customer(text: str, n: int) -> IncomingMessage:
        return IncomingMessage("web", "c1", text, Customer("c1"), f"low-{n}", "en")

    replies = await desk.hub.router.handle(customer("1", 1))  # no Rasa needed: a survey answer
    assert replies[0].text == t("rating_followup")
    await desk.until(lambda: len(desk.slack.called("chat.postMessage")) == posts + 1)
    alert = desk.slack.called("chat.postMessage")[-1]
    shown = all_text(alert)
    assert alert["channel"] == DESK and "thread_ts" not in alert
    assert "Low rating 1/5" in shown and f"handoff #{handoff_id}" in shown
    assert "resolved by *Ana*" in shown and "No comment yet" in shown
    assert "&lt;!here&gt;" in shown and "<!here>" not in shown  # the customer's name, escaped

    await desk.hub.router.handle(customer("Nobody answered <!channel> for an hour & more", 2))
    await desk.until(lambda: len(desk.slack.called("chat.update")) == 3)
    updated = desk.slack.called("chat.update")[-1]
    posted = next(
        ts for (channel, ts), m in desk.slack.messages.items() if "Low rating" in m["text"]
    )
    assert updated["channel"] == DESK and updated["ts"] == posted  # the same message
    assert "Nobody answered &lt;!channel&gt; for an hour &amp; more" in all_text(updated)
    assert "<!channel>" not in all_text(updated)
    assert len(desk.slack.called("chat.postMessage")) == posts + 1


async def test_a_claim_in_the_web_console_updates_the_slack_message(desk: Desk):
    handoff_id = await desk.queue()
    maria = await AgentDirectory(desk.hub.db).create("maria", "long password", display_name="Maria")
    await desk.hub.handoffs.claim(handoff_id, maria)
    await desk.settle()
    (update,) = desk.slack.called("chat.update")
    assert "Claimed by *Maria*" in all_text(update)
    await desk.say_in_thread("UANA", handoff_id, "I'll take it")
    await desk.until(lambda: bool(desk.slack.called("chat.postEphemeral")))
    assert "Only Maria" in desk.slack.called("chat.postEphemeral")[0]["text"]
    assert desk.delivered == []


async def test_forged_or_stale_requests_are_refused_and_change_nothing(desk: Desk):
    handoff_id = await desk.queue()
    assert await desk.click("UANA", "desk_claim", handoff_id, secret="not-the-secret") == 401
    stale = int(time.time()) - 3600
    assert await desk.click("UANA", "desk_claim", handoff_id, timestamp=stale) == 401
    await desk.settle()
    assert await desk.state() == "queued"
    assert desk.slack.called("chat.update") == [] and desk.slack.called("users.info") == []


MALFORMED = [
    b"{not json",
    b"\xff\xfe{",
    b"[1, 2]",
    b"payload=%7Bbroken",
    b"payload=%22just+a+string%22",
    b'{"type": "event_callback", "event": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"type": "event_callback", "event": {"type": "message", "text": "\\ud800"}}',
]


@pytest.mark.parametrize("raw", MALFORMED, ids=lambda raw: repr(raw[:20]))
async def test_a_malformed_body_is_refused_with_a_4xx_never_a_500(desk: Desk, raw: bytes):
    handoff_id = await desk.queue()
    ctype = "application/json" if raw.startswith(b"{") else "application/x-www-form-urlencoded"
    unsigned = await desk.http.post(desk.url, content=raw, headers={"Content-Type": ctype})
    assert unsigned.status_code == 401
    assert "Slack signature" in unsigned.json()["error"]
    headers = {"Content-Type": ctype, **slack_signed(raw, SECRET)}
    signed_but_broken = await desk.http.post(desk.url, content=raw, headers=headers)
    assert 400 <= signed_but_broken.status_code < 500
    await desk.settle()
    assert await desk.state() == "queued"
    # and the desk still works
    assert await desk.click("UANA", "desk_claim", handoff_id) == 200
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    assert await desk.state() == "with_agent"


async def test_a_slack_outage_is_logged_and_the_console_keeps_working(desk: Desk):
    desk.slack.errors["chat.postMessage"] = "internal_error"
    handoff_id = await desk.queue()
    maria = await AgentDirectory(desk.hub.db).create("maria", "long password", display_name="Maria")
    await desk.hub.handoffs.claim(handoff_id, maria)  # no Slack message to update: no error
    await desk.hub.handoffs.reply(handoff_id, maria, "Hello from the console")
    await desk.settle()
    assert await desk.state() == "with_agent"
    assert [m.text for _, m in desk.delivered] == ["Hello from the console"]


async def test_the_thread_keeps_working_after_a_restart(desk: Desk):
    handoff_id = await desk.queue()
    await desk.click("UANA", "desk_claim", handoff_id)
    await desk.until(lambda: bool(desk.slack.called("chat.update")))
    waiting = await desk.queue(chat="c2", text="where is my refund?")
    first = desk.hub
    await first.desk.stop()  # type: ignore[union-attr]

    restarted = await start_hub(first.settings, desk.delivered)  # a new hub, same database
    try:
        async with serve(desk_app(restarted)) as url:
            desk.hub, desk.url = restarted, f"{url}/slack/desk/events"
            await restarted.desk.drain()  # type: ignore[union-attr]
            assert len(desk.slack.called("chat.postMessage")) == 2  # nothing posted twice
            assert len(desk.slack.called("chat.update")) == 3  # both refreshed on start
            said = "Still on it after the restart."
            assert await desk.say_in_thread("UANA", handoff_id, said) == 200
            await desk.until(lambda: bool(desk.delivered))
            assert [m.text for _, m in desk.delivered] == [said]
            await desk.click("UBEN", "desk_claim", waiting)
            await desk.until(lambda: len(desk.slack.called("chat.update")) == 4)
            assert await desk.state("c2") == "with_agent"
            assert "Claimed by *Ben*" in all_text(desk.slack.called("chat.update")[-1])
    finally:
        desk.hub = first
        await restarted.desk.stop()  # type: ignore[union-attr]
        await restarted.db.close()
