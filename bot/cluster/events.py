"""One typed event bus for what happens to a conversation (issue 13, step 1).

A customer message to an agent, a handoff queued / claimed / transferred / resolved /
withdrawn, an agent's message, typing, a low rating, presence, what a customer's socket is sent:
each is an `Event` published once; subscribers (the console sockets, the widget sockets, the
Slack desk, auto-assignment, the gap log) each get every event of the kinds they asked for, in
publish order.

An event's `data` speaks to each audience apart: `data["console"]`, the frame (or list of
frames) the agents' consoles are sent; `data["customer"]`, what a customer's channel is sent
(bot/conversation/outbox.py); `data["text"]`, a message's text; `data["alert"]`, a low rating.

Side effects that must happen once in the cluster (posting to Slack, claiming for an agent,
logging a gap) subscribe through `Leader.only` (bot/cluster/lease.py): with several hubs, the hub
holding the lease acts; alone, this hub.

- `LocalBus`: in one process, in memory (the embedded default: no Redis needed).
- `RedisBus`: with `REDIS_URL`, events go through Redis pub/sub, so every hub's subscribers
  get every hub's events (an agent's console on hub 1 sees a customer on hub 2). The publishing
  hub gets its own events back from Redis too, so all hubs see one order. When Redis cannot be
  reached, an event is still delivered to this hub's own subscribers (logged), never lost here.

`make_bus(redis_url)` picks one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, get_args

from bot.cluster.lease import redis_client

log = logging.getLogger(__name__)

EventKind = Literal[
    "customer_message",  # a customer wrote in a conversation an agent works
    "to_customer",  # replies and typing frames for a customer's socket (bot/conversation/outbox.py)
    "handoff_queued",
    "handoff_claimed",
    "handoff_transferred",
    "handoff_resolved",
    "handoff_withdrawn",
    "agent_message",
    "typing",
    "rating",  # a low rating (or its comment), for supervisors
    "presence",
    "queue_changed",
    "labels_changed",
    "agents_online",  # a hub's heartbeat: the agents with a console open on it
]
KINDS: frozenset[str] = frozenset(get_args(EventKind))
CHANNEL = "supportbot:events"  # the Redis pub/sub channel


class BadEvent(ValueError):
    """A frame on the bus that is not an event (another program's, or a newer hub's)."""


@dataclass(frozen=True)
class Event:
    """`conversation`: the conversation key ("web:abc"); `handoff_id` and `agent` (a username)
    when they apply; `data`: what the subscribers show (JSON-safe); `origin`: the hub that
    published it."""

    kind: EventKind
    conversation: str | None = None
    handoff_id: int | None = None
    agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    origin: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        try:
            body = json.loads(raw)
        except (TypeError, ValueError) as exc:
            raise BadEvent(f"not JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("kind") not in KINDS:
            raise BadEvent("not an event: no known 'kind'")
        data = body.get("data")
        handoff_id = body.get("handoff_id")
        if not isinstance(data, dict) or not isinstance(handoff_id, int | None):
            raise BadEvent("an event's 'data' is an object and its 'handoff_id' a number")
        return cls(
            kind=body["kind"],
            conversation=_text_or_none(body.get("conversation")),
            handoff_id=handoff_id,
            agent=_text_or_none(body.get("agent")),
            data=data,
            origin=str(body.get("origin") or ""),
        )


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadEvent("an event's 'conversation' and 'agent' are strings")


Handler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    origin: str

    def subscribe(self, handler: Handler, kinds: Collection[EventKind] | None = None) -> None: ...

    async def publish(self, event: Event) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalBus:
    """Subscribers are called one after another, in the order they subscribed; a failing
    subscriber is logged and never keeps the event from the others."""

    def __init__(self, origin: str | None = None) -> None:
        self.origin = origin or uuid.uuid4().hex[:12]
        self._subscribers: list[tuple[Handler, frozenset[str] | None]] = []

    def subscribe(self, handler: Handler, kinds: Collection[EventKind] | None = None) -> None:
        unknown = set(kinds or ()) - KINDS
        if unknown:
            raise ValueError(f"unknown event kinds: {sorted(unknown)}")
        self._subscribers.append((handler, frozenset(kinds) if kinds is not None else None))

    def _stamped(self, event: Event) -> Event:
        if event.origin:
            return event
        return Event(
            event.kind, event.conversation, event.handoff_id, event.agent, event.data, self.origin
        )

    async def publish(self, event: Event) -> None:
        await self.dispatch(self._stamped(event))

    async def dispatch(self, event: Event) -> None:
        """Hand `event` to this process's subscribers."""
        for handler, kinds in list(self._subscribers):
            if kinds is not None and event.kind not in kinds:
                continue
            try:
                await handler(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", handler, event.kind)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBus(LocalBus):
    """Events through Redis pub/sub: every hub subscribed to `channel` dispatches every event,
    its own included, in the order Redis received them."""

    def __init__(
        self,
        url: str,
        origin: str | None = None,
        channel: str = CHANNEL,
        reconnect_seconds: float = 1.0,
    ) -> None:
        super().__init__(origin)
        self.url = url
        self.channel = channel
        self.reconnect_seconds = reconnect_seconds
        self._redis = redis_client(url)
        self._reader: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Subscribe; returns once this hub listens (so nothing published after is missed)."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="event-bus-reader")
        await self._listening.wait()

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
            self._reader = None
        await self._redis.aclose()

    async def publish(self, event: Event) -> None:
        event = self._stamped(event)
        try:
            await self._redis.publish(self.channel, event.to_json())
        except Exception:  # Redis is down: this hub's own subscribers still get it
            log.exception("could not publish %s to Redis; delivered on this hub only", event.kind)
            await self.dispatch(event)

    async def _read(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._listening.set()
                    async for frame in pubsub.listen():
                        if frame.get("type") != "message":
                            continue
                        try:
                            event = Event.from_json(frame["data"])
                        except BadEvent as exc:
                            log.warning("ignoring a frame on %s: %s", self.channel, exc)
                            continue
                        await self.dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event bus lost Redis; subscribing again")
                await asyncio.sleep(self.reconnect_seconds)


# console frames that are not about one event of a conversation, by their "type", as events
# on the bus (AgentEvents.broadcast); the others come with their event (`data["console"]`)
CONSOLE_FRAMES: dict[str, EventKind] = {
    "queue": "queue_changed",
    "typing": "typing",
    "presence": "presence",
    "labels": "labels_changed",
}
HANDOFF_KINDS: frozenset[EventKind] = frozenset(
    {
        "handoff_queued",
        "handoff_claimed",
        "handoff_transferred",
        "handoff_resolved",
        "handoff_withdrawn",
        "customer_message",
        "agent_message",
    }
)


def console_frames(event: Event) -> list[dict[str, Any]]:
    """The frames `event` shows on the agents' consoles (none: not for them)."""
    frames = event.data.get("console")
    if isinstance(frames, dict):
        return [frames]
    if isinstance(frames, list):
        return [frame for frame in frames if isinstance(frame, dict)]
    return []


def console_event(frame: dict[str, Any], roles: Collection[str] | None = None) -> Event:
    """A console frame as an event: every hub shows it to its own consoles (of `roles`)."""
    kind = CONSOLE_FRAMES.get(str(frame.get("type")))
    if kind is None:
        raise ValueError(f"console frame of an undeclared type: {frame.get('type')!r}")
    handoff_id = frame.get("handoff_id")
    conversation = frame.get("conversation")
    return Event(
        kind,
        conversation=conversation if isinstance(conversation, str) else None,
        handoff_id=handoff_id if isinstance(handoff_id, int) else None,
        data={"console": frame, "roles": sorted(roles) if roles is not None else None},
    )


def make_bus(redis_url: str | None, namespace: str = "") -> LocalBus:
    """In memory without `redis_url`, else on Redis (on the channel of `namespace`: the hubs of
    one database, see bot/cluster/lease.py)."""
    if not redis_url:
        return LocalBus()
    return RedisBus(redis_url, channel=f"{CHANNEL}:{namespace}" if namespace else CHANNEL)
