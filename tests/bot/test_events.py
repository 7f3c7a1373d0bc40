"""The event bus: in memory in one process, through the real Redis (127.0.0.1:6379) between
hubs. What a user would notice: an event published on one hub reaches the subscribers of another,
in publish order, and a broken subscriber or a stray frame never stops the others."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from bot.cluster.events import BadEvent, Event, LocalBus, RedisBus, make_bus
from tests.support import REDIS_URL


class Seen:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrived = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.arrived.set()

    async def until(self, count: int, timeout: float = 5.0) -> list[Event]:
        async def enough() -> None:
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.events


async def test_local_bus_delivers_in_order_and_by_kind() -> None:
    bus = LocalBus("hub-1")
    everything, typing = Seen(), Seen()
    bus.subscribe(everything)
    bus.subscribe(typing, kinds=["typing"])
    await bus.publish(Event("customer_message", "web:a", data={"text": "hello"}))
    await bus.publish(Event("typing", "web:a"))
    await bus.publish(Event("bot_reply", "web:a", data={"text": "hi"}))
    assert [e.kind for e in everything.events] == ["customer_message", "typing", "bot_reply"]
    assert [e.kind for e in typing.events] == ["typing"]
    assert all(e.origin == "hub-1" for e in everything.events)


async def test_a_failing_subscriber_does_not_keep_the_event_from_the_others() -> None:
    bus = LocalBus()

    async def broken(_: Event) -> None:
        raise RuntimeError("console socket gone")

    seen = Seen()
    bus.subscribe(broken)
    bus.subscribe(seen)
    await bus.publish(Event("handoff_queued", "web:a", handoff_id=7))
    assert [e.handoff_id for e in seen.events] == [7]


def test_unknown_kinds_are_refused_when_subscribing() -> None:
    with pytest.raises(ValueError, match="unknown event kinds"):
        LocalBus().subscribe(Seen(), kinds=["handoff_claimd"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"kind": "nonsense"}', b'{"kind": "typing", "data": 3}'],
)
def test_frames_that_are_not_events_are_refused(raw: bytes) -> None:
    with pytest.raises(BadEvent):
        Event.from_json(raw)


def test_an_event_survives_the_wire() -> None:
    event = Event("agent_message", "telegram:42", 3, "ana", {"text": "Zdravo, Šime"}, "hub-2")
    assert Event.from_json(event.to_json().encode()) == event


def test_without_redis_the_bus_is_in_memory() -> None:
    assert type(make_bus(None)) is LocalBus


@pytest.fixture
async def two_hubs() -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    channel = f"supportbot:test:{uuid.uuid4().hex[:8]}"  # tests never see each other's events
    one = RedisBus(REDIS_URL, "hub-1", channel=channel)
    two = RedisBus(REDIS_URL, "hub-2", channel=channel)
    await one.start()
    await two.start()
    yield one, two
    await one.stop()
    await two.stop()


async def test_an_event_on_one_hub_reaches_the_other_in_order(
    two_hubs: tuple[RedisBus, RedisBus],
) -> None:
    one, two = two_hubs
    on_one, on_two = Seen(), Seen()
    one.subscribe(on_one)
    two.subscribe(on_two)
    for n in range(20):
        await one.publish(Event("customer_message", "web:a", data={"n": n}))
    await two.publish(Event("agent_message", "web:a", agent="ana", data={"n": 20}))
    for seen in (on_one, on_two):
        events = await seen.until(21)
        assert [e.data["n"] for e in events] == list(range(21))  # once each, in order
        assert [e.origin for e in events] == ["hub-1"] * 20 + ["hub-2"]


async def test_a_stray_frame_on_the_channel_is_skipped(
    two_hubs: tuple[RedisBus, RedisBus],
) -> None:
    one, two = two_hubs
    seen = Seen()
    two.subscribe(seen)
    await one._redis.publish(one.channel, "{not an event")
    await one.publish(Event("rating", "web:a", data={"score": 5}))
    (event,) = await seen.until(1)
    assert event.data == {"score": 5}


async def test_with_redis_down_the_publishing_hub_still_gets_its_event() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", "hub-1")  # nothing listens on port 1
    seen = Seen()
    bus.subscribe(seen)
    await bus.publish(Event("handoff_claimed", "web:a", handoff_id=1, agent="ana"))
    assert [e.kind for e in seen.events] == ["handoff_claimed"]
    await bus.stop()
