"""Who has a queued handoff: an agent claims it (by hand, from Slack, or picked by
auto-assignment), and exactly one wins. Used by `Handoffs` (bot/handoff/handoffs.py) and by the
auto-assigner (bot/handoff/routing.py), which is why it stands apart from both."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import update

from bot.cluster.events import Event, EventKind, LocalBus
from bot.handoff.queue_status import QueueStatus
from bot.handoff.states import Action, Status, TransitionError, transition
from bot.i18n import t
from bot.messages import OutgoingMessage
from bot.storage.db import Database
from bot.storage.models import Agent, Conversation, Handoff, utcnow
from bot.storage.repo import Store

log = logging.getLogger(__name__)

Deliver = Callable[[Conversation, list[OutgoingMessage]], Awaitable[None]]
QUEUE_FRAME: dict[str, Any] = {"type": "queue"}  # the console reloads its queue


class HandoffError(Exception):
    def __init__(self, message: str, status: int = 409, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def handoff_event(
    kind: EventKind,
    handoff_id: int,
    conversation: str,
    agent: str | None = None,
    text: str = "",
    console: list[dict[str, Any]] | None = None,
) -> Event:
    """What happened to a handoff, as published on the bus: `agent` is the username of the
    agent who acted, `text` a message's text, `console` the consoles' frames (by default: the
    queue changed)."""
    return Event(
        kind,
        conversation,
        handoff_id,
        agent,
        data={"console": console if console is not None else [QUEUE_FRAME], "text": text},
    )


async def load(db: Database, handoff_id: int) -> tuple[Handoff, Conversation]:
    """A handoff and its conversation (HandoffError 404 when there is no such handoff)."""
    async with db.session() as s:
        handoff = await s.get(Handoff, handoff_id)
        if handoff is None:
            raise HandoffError(f"no handoff {handoff_id}", 404)
        conversation = await s.get(Conversation, handoff.conversation_id)
        assert conversation is not None
        return handoff, conversation


class Claims:
    def __init__(
        self,
        db: Database,
        store: Store,
        bus: LocalBus,
        deliver: Deliver | None = None,
        queue: QueueStatus | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.bus = bus
        self.deliver = deliver  # to the customer's channel ("Ana joined")
        self.queue = queue or QueueStatus(db)

    async def claim(
        self, handoff_id: int, agent: Agent, announce: bool = True, offered: bool = False
    ) -> Handoff:
        """Exactly one agent wins: the update only matches while the handoff is queued.
        `announce`: tell the customer "Ana joined" now (else the caller tells them);
        `offered`: the router picked the agent (auto-assignment; `offered_to`, `offered_at`)."""
        handoff, conversation = await load(self.db, handoff_id)
        try:
            step = transition(conversation.state, Action.CLAIM)
        except TransitionError:  # no longer queued: the update below finds out by whom
            step = None
        now = utcnow()
        picked = {"offered_to": agent.id, "offered_at": now} if offered else {}
        async with self.db.session() as s:
            result = await s.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == Status.QUEUED)
                .values(status=Status.CLAIMED, agent_id=agent.id, claimed_at=now, **picked)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await s.rollback()
                current = await s.get(Handoff, handoff_id)
                holder = (
                    await s.get(Agent, current.agent_id) if current and current.agent_id else None
                )
                if holder:
                    raise HandoffError(
                        f"already claimed by {holder.display_name}", 409, agent=holder.username
                    )
                raise HandoffError(f"this handoff is {current.status if current else 'gone'}")
            if step is None:
                await s.rollback()
                raise HandoffError(f"cannot claim a conversation that is '{conversation.state}'")
            await s.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(state=step.state)
            )
            await s.commit()
        self.queue.forget(conversation.id)
        if announce:
            await self.announce(conversation, "agent_joined", agent)
        await self.bus.publish(
            handoff_event("handoff_claimed", handoff_id, conversation.key, agent.username)
        )
        return (await load(self.db, handoff_id))[0]

    async def announce(self, conversation: Conversation, key: str, agent: Agent) -> None:
        """Tell the customer who is with them now ("Ana joined the conversation")."""
        name = agent.display_name
        message = OutgoingMessage(
            t(key, conversation.language, agent=name),
            sender="system",
            custom={"agent": name, "status": {"state": "with_agent", "agent": name}},
        )
        await self.store.store_outgoing(conversation.id, [message])
        if self.deliver:
            try:
                await self.deliver(conversation, [message])
            except Exception:  # the claim stands; the transcript has the notice
                log.exception("could not announce %s to %s", key, conversation.key)
