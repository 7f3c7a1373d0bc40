"""Telegram and Slack customers against the whole hub: the real trained Rasa model, the real
knowledge base, the real python-telegram-bot (long polling) and slack-bolt, with local fakes of
Telegram's Bot API and Slack's Web API standing in for the vendors."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import SLACK_SECRET, Running
from tests.fake_slack import signed

pytestmark = pytest.mark.e2e
_ids = itertools.count(900_000_001)


def telegram_text(chat: int, text: str, language: str = "en") -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "Ada", "language_code": language}
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "from": user,
            "chat": {"id": chat, "type": "private", "first_name": "Ada"},
            "date": int(time.time()),
            "text": text,
        },
    }


async def eventually(found: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return result


def telegram_sent(running: Running, chat: int) -> list[str]:
    return [c["text"] for c in running.telegram.called("sendMessage") if c["chat_id"] == str(chat)]


async def test_a_telegram_question_is_answered_from_the_knowledge_base(running: Running):
    chat = 61001
    running.telegram.queue(telegram_text(chat, "I forgot my password"))
    [answer] = await eventually(lambda: telegram_sent(running, chat))
    assert answer.startswith("<b>Reset your password</b>")  # the article, its title in bold
    transcript = await running.hub.store.transcript(f"telegram:{chat}")
    assert [m.sender for m in transcript] == ["customer", "bot"]


async def test_a_telegram_customer_gets_a_person_who_answers_on_telegram(running: Running):
    chat = 61002
    running.telegram.queue(telegram_text(chat, "I want to talk to a human"))
    await eventually(lambda: telegram_sent(running, chat))
    conversation = await running.hub.store.conversation(f"telegram:{chat}")
    assert conversation and conversation.state == "queued"
    handoff = await running.hub.handoffs.open_for(conversation.id)
    assert handoff is not None
    agent = await running.hub.agents.create("tg-agent", "a long password", display_name="Ana")
    await running.hub.handoffs.claim(handoff.id, agent)
    await running.hub.handoffs.reply(handoff.id, agent, "Hi, Ana here. I'm <on it>!")
    sent = await eventually(
        lambda: [t for t in telegram_sent(running, chat) if t.startswith("Hi, Ana")]
    )
    assert sent == ["Hi, Ana here. I'm &lt;on it&gt;!"]
    # while Ana has it, what the customer writes goes to her, not to the bot
    before = len(telegram_sent(running, chat))
    running.telegram.queue(telegram_text(chat, "thank you, my order is 1234"))
    await stored(running, f"telegram:{chat}", "thank you, my order is 1234", "to_agent")
    assert len(telegram_sent(running, chat)) == before


async def stored(running: Running, key: str, text: str, status: str) -> None:
    """Wait until the customer's `text` is stored with `status` (e.g. routed to the agent)."""
    deadline = time.monotonic() + 60
    while not any(
        m.text == text and m.status == status for m in await running.hub.store.transcript(key)
    ):
        assert time.monotonic() < deadline, f"{text!r} never stored as {status}"
        await asyncio.sleep(0.05)


async def test_a_slack_direct_message_is_answered_from_the_knowledge_base(running: Running):
    event = {
        "type": "message",
        "channel": "D0E2E",
        "channel_type": "im",
        "user": "U0E2E",
        "text": "I forgot my password",
        "ts": "1763900000.000100",
        "client_msg_id": "e2e-slack-1",
    }
    body = json.dumps(
        {"type": "event_callback", "team_id": "T0001", "event": event, "event_id": "EvE2E1"}
    ).encode()
    headers = {"Content-Type": "application/json", **signed(body, SLACK_SECRET)}
    response = await running.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 200
    posts = await eventually(
        lambda: [p for p in running.slack.called("chat.postMessage") if p["channel"] == "D0E2E"]
    )
    assert posts[0]["blocks"][0]["text"]["text"].startswith("*Reset your password*")
    transcript = await running.hub.store.transcript("slack:D0E2E")
    assert [(m.sender, m.text) for m in transcript][0] == ("customer", "I forgot my password")
