"""The storage layer, against SQLite and the real PostgreSQL server."""

from __future__ import annotations

import asyncio

from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.storage.db import Database
from bot.storage.repo import Store


def incoming(text: str, vendor_id: str | None = None, chat: str = "c1") -> IncomingMessage:
    return IncomingMessage(
        channel="web",
        chat_id=chat,
        text=text,
        customer=Customer(external_id=chat, display_name="Ana"),
        vendor_message_id=vendor_id,
        language="hr",
    )


async def test_incoming_message_is_stored_with_its_conversation_and_customer(store: Store):
    stored = await store.store_incoming(incoming("hello", "m1"))
    assert stored.created
    assert stored.conversation.key == "web:c1"
    assert stored.conversation.state == "bot"
    assert stored.conversation.language == "hr"
    transcript = await store.transcript("web:c1")
    assert [(m.sender, m.text, m.status) for m in transcript] == [("customer", "hello", "received")]


async def test_a_retried_delivery_is_stored_once(store: Store):
    first = await store.store_incoming(incoming("hello", "m1"))
    again = await store.store_incoming(incoming("hello", "m1"))
    assert not again.created
    assert again.message.id == first.message.id
    assert len(await store.transcript("web:c1")) == 1


async def test_concurrent_first_messages_create_one_conversation(store: Store):
    results = await asyncio.gather(*(store.store_incoming(incoming(f"m{i}")) for i in range(5)))
    assert len({r.conversation.id for r in results}) == 1
    assert len(await store.transcript("web:c1")) == 5


async def test_replies_are_stored_in_order_after_the_question(store: Store):
    stored = await store.store_incoming(incoming("how do I pay?"))
    await store.store_outgoing(stored.conversation.id, [OutgoingMessage("Card or PayPal.")])
    await store.set_status(stored.message.id, "processed")
    transcript = await store.transcript("web:c1")
    assert [(m.direction, m.text) for m in transcript] == [
        ("in", "how do I pay?"),
        ("out", "Card or PayPal."),
    ]
    assert transcript[0].status == "processed"


async def test_pending_messages_are_listed_oldest_first(store: Store):
    a = await store.store_incoming(incoming("first", chat="a"))
    b = await store.store_incoming(incoming("second", chat="b"))
    await store.set_status(b.message.id, "pending")
    await store.set_status(a.message.id, "pending")
    assert [m.text for _, m in await store.pending()] == ["first", "second"]


async def test_what_the_bot_understood_is_recorded_on_the_message(store: Store):
    await store.store_incoming(incoming("one"))
    two = await store.store_incoming(incoming("two"))
    kb = {"decision": "unknown", "candidates": [{"id": "a", "title": "A", "score": 0.2}]}
    await store.annotate(two.message.id, "greet", 0.93, kb, 0.35, ["shouting"])
    transcript = await store.transcript("web:c1")
    assert [(m.text, m.intent) for m in transcript] == [("one", None), ("two", "greet")]
    assert transcript[1].kb == kb and transcript[1].signals == ["shouting"]
    assert transcript[1].frustration == 0.35


async def test_gaps_are_logged_newest_first(store: Store):
    await store.log_gap("q1", "web:c1", "en", [{"id": "a", "title": "A", "score": 0.3}])
    await store.log_gap("q2", "web:c1", "en", [], reason="not_helpful")
    gaps = await store.gaps()
    assert [(g.question, g.reason) for g in gaps] == [("q2", "not_helpful"), ("q1", "unknown")]
    assert gaps[1].candidates[0]["id"] == "a"


async def test_migrations_are_idempotent(database: Database):
    await database.migrate()
    assert await database.ping()
