"""Nothing lost with the real Rasa: its memory survives a crash, and a message a dead hub stored
but never answered is answered and delivered."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.messages import Customer, IncomingMessage
from bot.storage.models import Message, utcnow
from tests.e2e.conftest import Running

pytestmark = pytest.mark.e2e


async def user_turns(running: Running, key: str) -> list[str]:
    events = (await running.hub.rasa.tracker(key)).get("events") or []
    return [e["text"] for e in events if e.get("event") == "user"]


async def test_rasa_killed_and_restarted_keeps_the_conversation(running: Running):
    await running.chat("e2e-memory", "hello")
    await running.chat("e2e-memory", "how do I reset my password")
    before = await user_turns(running, "web:e2e-memory")
    assert before == ["hello", "how do I reset my password"]
    supervisor = running.hub.supervisor
    assert supervisor is not None
    restarts = supervisor.restarts
    await supervisor.kill()
    while supervisor.restarts == restarts:
        await asyncio.sleep(0.1)
    assert await supervisor.wait_ready(300), f"Rasa did not restart: {supervisor.log_file}"
    assert await user_turns(running, "web:e2e-memory") == before  # its memory is kept
    # and what it answered to each of the hub's messages, so no turn is ever sent twice
    first = [m for m in await running.hub.store.transcript("web:e2e-memory") if m.direction == "in"]
    rebuilt = await running.hub.rasa.replies_to("web:e2e-memory", first[1].id)
    assert rebuilt and rebuilt[0].custom and rebuilt[0].custom["kb"]["article"] == "reset-password"
    after = await running.chat("e2e-memory", "how do I reset my password")
    assert after[0]["custom"]["kb"]["article"] == "reset-password"


async def test_a_message_a_dead_hub_stored_is_answered_and_delivered(running: Running):
    hub = running.hub
    customer = IncomingMessage(
        "telegram", "880001", "how do I reset my password", Customer("880001"), None, "en"
    )
    stored = await hub.store.store_incoming(customer)  # what the dead hub managed to do
    async with hub.db.session() as s:
        await s.execute(
            update(Message)
            .where(Message.id == stored.message.id)
            .values(created_at=utcnow() - timedelta(minutes=1))
        )
        await s.commit()
    for _ in range(600):  # the retry loop finds it within seconds
        sent = [c for c in running.telegram.called("sendMessage") if str(c["chat_id"]) == "880001"]
        if sent:
            break
        await asyncio.sleep(0.1)
    assert sent and "password" in sent[0]["text"].lower()
    transcript = await hub.store.transcript("telegram:880001")
    assert [m.status for m in transcript if m.direction == "in"] == ["processed"]
