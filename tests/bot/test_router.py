"""The message path: stored first, sent to Rasa, replies stored; Rasa down or slow loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.conversation.router import RASA_DOWN, STILL_WAITING, InvalidMessage, Router
from bot.handoff.handoffs import NO_AGENT_ONLINE, Handoffs
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.storage.models import Conversation
from bot.storage.repo import Store
from tests.conftest import free_port
from tests.fake_rasa import FakeRasa
from tests.support import bound_socket, serve


def msg(text: str, vendor_id: str | None = None) -> IncomingMessage:
    return IncomingMessage("web", "s1", text, Customer("s1"), vendor_id, "en")


def router_for(
    store: Store, url: str, timeout: float = 15.0, max_wait: float | None = None, **options: Any
) -> Router:
    rasa = RasaClient(url, timeout=timeout, max_wait=max_wait)
    return Router(store, rasa, Handoffs(store.db, store, rasa), **options)


@pytest.fixture
async def fake_rasa() -> AsyncIterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    async with serve(fake.app()) as url:
        yield fake, url


async def test_message_goes_to_rasa_with_metadata_and_both_sides_are_stored(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    router = router_for(store, url)
    replies = await router.handle(msg("hello"))
    assert [r.text for r in replies] == ["echo: hello"]
    sent = fake.received[0]
    assert sent["sender"] == "web:s1"
    assert sent["metadata"]["channel"] == "web" and sent["metadata"]["language"] == "en"
    transcript = await store.transcript("web:s1")
    assert [(m.sender, m.text, m.status) for m in transcript] == [
        ("customer", "hello", "processed"),
        ("bot", "echo: hello", "sent"),
    ]
    assert transcript[0].intent == "greet"


async def test_a_duplicate_delivery_is_answered_once(store: Store, fake_rasa):
    fake, url = fake_rasa
    router = router_for(store, url)
    assert await router.handle(msg("hello", "v1"))
    assert await router.handle(msg("hello", "v1")) == []
    assert len(fake.received) == 1


async def test_empty_message_is_refused_and_nothing_is_stored(store: Store, fake_rasa):
    _, url = fake_rasa
    router = router_for(store, url)
    for text in ["", "   \n\t"]:
        with pytest.raises(InvalidMessage, match="empty"):
            await router.handle(msg(text))
    assert await store.conversation("web:s1") is None


async def test_too_long_message_is_kept_cut_with_its_length_and_the_customer_told(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    router = router_for(store, url, max_chars=4000)
    replies = await router.handle(msg("x" * 4001))
    assert "too long" in replies[0].text and "4000" in replies[0].text
    assert fake.received == []
    stored = (await store.transcript("web:s1"))[0]
    assert stored.status == "rejected" and len(stored.text) == 4000 and stored.length == 4001


async def test_rasa_down_keeps_the_message_and_answers_it_when_rasa_is_back(store: Store):
    port = free_port()  # nothing listens here yet
    delivered: list[tuple[str, list[OutgoingMessage]]] = []

    async def deliver(conversation: Conversation, replies: list[OutgoingMessage]) -> None:
        delivered.append((conversation.key, replies))

    router = router_for(store, f"http://127.0.0.1:{port}", timeout=2, deliver=deliver)
    replies = await router.handle(msg("where is my order?"))
    assert replies[0].text == RASA_DOWN
    # queued for a person meanwhile, and told so: never silence
    assert [r.text for r in await router.handle(msg("hello??"))] == [STILL_WAITING]
    statuses = [m.status for m in await store.transcript("web:s1") if m.direction == "in"]
    assert statuses == ["pending", "pending"]

    fake = FakeRasa()
    async with serve(fake.app(), bound_socket(port)):  # Rasa comes back on its address
        assert await router.retry_pending() == 2
    assert delivered == [
        ("web:s1", [OutgoingMessage("echo: where is my order?")]),
        ("web:s1", [OutgoingMessage("echo: hello??")]),
    ]
    statuses = [m.status for m in await store.transcript("web:s1") if m.direction == "in"]
    assert statuses == ["processed", "processed"]
    conversation = await store.conversation("web:s1")
    assert conversation and conversation.state == "bot"  # the bot_error handoff was withdrawn


async def test_rasa_too_slow_for_the_cap_gets_an_honest_reply(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.delay = 3.0
    router = router_for(store, url, timeout=0.2, max_wait=0.5)
    replies = await router.handle(msg("hello"))
    assert replies[0].text == RASA_DOWN
    assert (await store.transcript("web:s1"))[0].status == "pending"
    fake.delay = 0.0  # the fake server may stop


async def test_rasa_error_response_does_not_lose_the_message(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.failing = True
    router = router_for(store, url)
    replies = await router.handle(msg("hello"))
    assert replies[0].text == RASA_DOWN
    assert (await store.transcript("web:s1"))[0].text == "hello"


async def test_a_requested_handoff_pauses_rasa_and_routes_to_agents(store: Store, fake_rasa):
    fake, url = fake_rasa
    router = router_for(store, url)
    replies = await router.handle(msg("handoff please"))
    assert replies[-1].text.startswith(NO_AGENT_ONLINE)  # nobody online: the customer is told so
    assert replies[-1].text.endswith("You are number 1 in the queue. " + t("queue_no_estimate"))
    assert replies[-1].custom == {
        "handoff": {"reason": "requested"},
        "status": {"state": "queued", "position": 1, "wait_minutes": None},
    }
    assert fake.events == [("web:s1", {"event": "pause"})]
    conversation = await store.conversation("web:s1")
    assert conversation and conversation.state == "queued"
    assert await router.handle(msg("are you there?")) == []  # told a moment ago: no spam
    assert [b["message"] for b in fake.received] == ["handoff please"]
    assert (await store.transcript("web:s1"))[-1].status == "to_agent"


async def test_a_silent_assistant_never_leaves_the_customer_without_an_answer(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    router = router_for(store, url)
    first = await router.handle(msg("say nothing", "m1"))
    assert [r.text for r in first] == [t("no_answer", "en")]
    assert [b.payload for b in first[0].buttons] == ["/ask_human"]
    conversation = await store.conversation("web:s1")
    assert conversation and conversation.state == "bot"
    # twice in a row: the bot stops trying and hands the conversation to a person
    second = await router.handle(msg("say nothing", "m2"))
    assert second[-1].custom and second[-1].custom["handoff"] == {"reason": "unanswered"}
    conversation = await store.conversation("web:s1")
    assert conversation and conversation.state == "queued"


async def test_the_conversation_language_follows_a_clearly_different_language(
    store: Store, fake_rasa
):
    from bot.language import LanguageDetection

    fake, url = fake_rasa
    router = router_for(store, url, languages=LanguageDetection())
    await router.handle(msg("hello"))
    assert fake.received[-1]["metadata"]["language"] == "en"
    # the widget still says "en", but the customer writes Russian: Rasa gets "ru"
    await router.handle(msg("Здравствуйте, где мой заказ?"))
    assert fake.received[-1]["metadata"]["language"] == "ru"
    # a short reply says nothing about the language: the conversation stays Russian
    await router.handle(msg("ok"))
    assert fake.received[-1]["metadata"]["language"] == "ru"
    conversation = await store.conversation("web:s1")
    assert conversation is not None and conversation.language == "ru"


async def test_without_a_channel_language_the_text_decides(store: Store, fake_rasa):
    from bot.language import LanguageDetection

    fake, url = fake_rasa
    router = router_for(store, url, languages=LanguageDetection())
    telegram = IncomingMessage("telegram", "7", "Желим да разговарам са човеком", Customer("7"))
    await router.handle(telegram)
    assert fake.received[-1]["metadata"]["language"] == "sr-Cyrl"
    # Croatian in a Serbian conversation: same family, no flip
    await router.handle(IncomingMessage("telegram", "7", "Gdje je moja narudžba?", Customer("7")))
    assert fake.received[-1]["metadata"]["language"] == "sr"
