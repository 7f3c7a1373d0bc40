"""The waiting customer knows where they stand: every message while queued is acknowledged
(at most once per two minutes), with their position and an expected wait measured from the
week's queue waits; they are told when an agent joins or the conversation is transferred."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.cluster.events import Event, console_frames
from bot.console.auth import AgentDirectory
from bot.conversation.router import Router
from bot.handoff.handoffs import HandoffError, Handoffs
from bot.handoff.queue_status import QueueStatus, Standing, describe, expected_wait
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.storage.models import Conversation, Handoff
from bot.storage.repo import Store
from tests.fake_rasa import FakeRasa
from tests.support import serve

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_the_estimate_is_the_median_wait_per_customer_ahead_shared_by_agents_online():
    waits = [60.0, 120.0, 600.0]  # median 2 minutes: one slow handoff does not skew it
    assert expected_wait(waits, position=1, agents_online=1) == 2
    assert expected_wait(waits, position=3, agents_online=1) == 6
    assert expected_wait(waits, position=3, agents_online=2) == 3
    assert expected_wait(waits, position=2, agents_online=0) == 4  # nobody online: as measured


def test_no_history_gives_no_estimate_never_a_made_up_number():
    assert expected_wait([], position=1, agents_online=3) is None
    assert describe(Standing(2, None), "en") == (
        "You are number 2 in the queue. We can't estimate the wait yet."
    )
    assert describe(Standing(1, 1), "en").startswith("You are number 1 in the queue. Expected")
    assert expected_wait([5.0], position=1, agents_online=1) == 1  # never "0 min"


def msg(chat: str, text: str) -> IncomingMessage:
    return IncomingMessage("web", chat, text, Customer(chat), None, "en")


@pytest.fixture
async def rasa_url() -> AsyncIterator[str]:
    async with serve(FakeRasa().app()) as url:
        yield url


def hub(store: Store, url: str, clock: Clock) -> tuple[Router, Handoffs, list[OutgoingMessage]]:
    rasa = RasaClient(url, timeout=15.0)
    delivered: list[OutgoingMessage] = []

    async def deliver(conversation: Conversation, messages: list[OutgoingMessage]) -> None:
        delivered.extend(messages)

    queue = QueueStatus(store.db, clock=clock)
    handoffs = Handoffs(store.db, store, rasa, queue=queue, deliver=deliver)
    return Router(store, rasa, handoffs), handoffs, delivered


async def history(store: Store, waits_minutes: list[float], clock: Clock) -> None:
    """Handoffs claimed this week after the given waits (and one from a month ago)."""
    stored = await store.store_incoming(msg("past", "old question"))
    async with store.db.session() as s:
        for n, minutes in enumerate([*waits_minutes, 500.0]):
            claimed = clock.now - (timedelta(days=30) if minutes == 500.0 else timedelta(hours=n))
            s.add(
                Handoff(
                    conversation_id=stored.conversation.id,
                    reason="requested",
                    status="resolved",
                    created_at=claimed - timedelta(minutes=minutes),
                    claimed_at=claimed,
                    resolved_at=claimed,
                )
            )
        await s.commit()


async def test_every_message_while_queued_is_acknowledged_with_position_and_wait(
    store: Store, rasa_url: str
):
    clock = Clock()
    await history(store, [4.0, 6.0, 20.0], clock)  # median 6 minutes
    router, handoffs, _ = hub(store, rasa_url, clock)
    first = await router.handle(msg("first", "handoff please"))
    assert first[-1].custom and first[-1].custom["status"] == {
        "state": "queued",
        "position": 1,
        "wait_minutes": 6,
    }
    second = await router.handle(msg("second", "handoff please"))
    assert second[-1].text.endswith(
        "You are number 2 in the queue. Expected wait: about 12 min, based on how long "
        "customers waited this week."
    )
    # a second message right after: no spam
    assert await router.handle(msg("second", "hello?")) == []
    clock.now += timedelta(minutes=2)
    handoffs.queue.agents_online = lambda: 2
    again = await router.handle(msg("second", "anyone there?"))
    assert [m.text for m in again] == [
        "Thanks, your message is with our team. You are number 2 in the queue. Expected wait: "
        "about 6 min, based on how long customers waited this week."
    ]
    assert (await store.transcript("web:second"))[-1].text == again[0].text  # stored, too


async def test_the_position_moves_up_and_the_join_and_transfer_are_announced(
    store: Store, rasa_url: str
):
    clock = Clock()
    router, handoffs, delivered = hub(store, rasa_url, clock)
    agents = AgentDirectory(store.db)
    ana = await agents.create("ana", "correct horse", display_name="Ana")
    ben = await agents.create("ben", "battery staple", display_name="Ben")
    await router.handle(msg("first", "handoff please"))
    await router.handle(msg("second", "handoff please"))
    first = await store.conversation("web:first")
    second = await store.conversation("web:second")
    assert first and second
    open_first = await handoffs.open_for(first.id)
    assert open_first
    assert (await handoffs.status(second))["position"] == 2
    await handoffs.claim(open_first.id, ana)
    assert await handoffs.status(second) == {"state": "queued", "position": 1, "wait_minutes": 1}
    assert [m.text for m in delivered] == ["Ana joined the conversation."]
    assert await handoffs.status(first) == {"state": "with_agent", "agent": "Ana"}
    assert await router.handle(msg("first", "thanks Ana")) == []  # a person is there: no ack
    await handoffs.transfer(open_first.id, ana, ben)
    assert delivered[-1].text == "You are now talking to Ben."
    ben_here = {"state": "with_agent", "agent": "Ben"}
    assert delivered[-1].custom == {"agent": "Ben", "status": ben_here}
    transcript = await store.transcript("web:first")
    assert [m.text for m in transcript if m.sender == "system"][-2:] == [
        "Ana joined the conversation.",
        "You are now talking to Ben.",
    ]
    await handoffs.resolve(open_first.id, ben, "done")
    assert await handoffs.status(first) == {"state": "bot"}


async def test_the_acknowledgement_is_in_the_customers_language(store: Store, rasa_url: str):
    clock = Clock()
    router, _, _ = hub(store, rasa_url, clock)
    await router.handle(IncomingMessage("web", "ru", "handoff please", Customer("ru"), None, "ru"))
    clock.now += timedelta(minutes=3)
    reply = await router.handle(
        IncomingMessage("web", "ru", "Алло, есть кто-нибудь?", Customer("ru"), None, "ru")
    )
    assert reply[0].text == (
        f"{t('queued_ack', 'ru')} {t('queue_position', 'ru', position=1)} "
        f"{t('queue_no_estimate', 'ru')}"
    )


async def test_typing_reaches_the_other_side_throttled_and_only_while_a_person_is_involved(
    store: Store, rasa_url: str
):
    router, handoffs, _ = hub(store, rasa_url, Clock())
    events: list[dict] = []
    signals: list[tuple[str, dict]] = []

    async def notify(event: Event) -> None:
        events.extend(console_frames(event))

    async def signal(conversation: Conversation, frame: dict) -> None:
        signals.append((conversation.key, frame))

    handoffs.bus.subscribe(notify, ["typing"])
    handoffs.signal = signal
    await router.handle(msg("bot", "hello"))
    assert not await handoffs.customer_typing("web:bot")  # with the bot: agents need not know
    await router.handle(msg("q", "handoff please"))
    events.clear()
    assert await handoffs.customer_typing("web:q")
    assert not await handoffs.customer_typing("web:q")  # within two seconds: throttled
    conversation = await store.conversation("web:q")
    assert conversation
    handoff = await handoffs.open_for(conversation.id)
    assert handoff
    assert events == [{"type": "typing", "conversation": "web:q", "handoff_id": handoff.id}]
    agents = AgentDirectory(store.db)
    ana = await agents.create("ana", "correct horse", display_name="Ana")
    ben = await agents.create("ben", "battery staple", display_name="Ben")
    await handoffs.claim(handoff.id, ana)
    assert await handoffs.agent_typing(handoff.id, ana)
    with pytest.raises(HandoffError):
        await handoffs.agent_typing(handoff.id, ben)  # not Ben's conversation
    assert signals == [("web:q", {"type": "typing", "agent": "Ana"})]
