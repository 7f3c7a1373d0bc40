"""Conversation states and the handoff between the bot and human agents.

```
                 request (reason)              claim (atomic)
        ┌─────┐ ────────────────► ┌────────┐ ─────────────────► ┌────────────┐
 new ──►│ bot │                   │ queued │                    │ with_agent │──┐ transfer
        └─────┘ ◄──────────────── └────────┘                    └────────────┘◄─┘
           ▲     withdraw (bot_error, │                               │
           │     the bot recovered)   │ resolve                       │ resolve (note)
           └──────────────────────────┴───────────────────────────────┘
                         back to the bot, which asks the customer for a 1–5 rating
                         (not when resolved without a survey, or asked recently:
                         bot/surveys.py)
```

While a conversation is `queued` or `with_agent`, customer messages go to the agents, never to
Rasa; Rasa itself is told with its own `pause` / `resume` events (ConversationPaused /
ConversationResumed) so the assistant stays silent.

A handoff is queued for a team (bot/hours.py: by the conversation's language, else the default
team). While that team is closed it is queued all the same (`out_of_hours`), the customer is
told when we open and may leave an e-mail address. While it is open, `auto_assign` (bot/routing.py,
when ROUTING_AUTO_ASSIGN is on) may claim it at once for an online agent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import select, update

from bot.i18n import t
from bot.messages import OutgoingMessage
from bot.queue_status import QueueStatus, describe, opens
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.storage.db import Database
from bot.storage.models import Agent, Conversation, Customer, Handoff, Note, utcnow
from bot.storage.repo import Store
from bot.surveys import Surveys

log = logging.getLogger(__name__)

REASONS = ("requested", "frustration", "unanswered", "policy", "bot_error")
TRANSITIONS: dict[tuple[str, str], str] = {
    ("bot", "request"): "queued",
    ("queued", "claim"): "with_agent",
    ("with_agent", "transfer"): "with_agent",
    ("queued", "resolve"): "bot",
    ("with_agent", "resolve"): "bot",
    ("queued", "withdraw"): "bot",
}
OPEN = ("queued", "claimed")  # handoff statuses an agent still has to act on
# an e-mail address in a customer's message (left while we are closed)
EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}"
)

# what the customer is told, in English; in their language: bot.i18n.t(key, language)
AGENT_ONLINE = t("agent_online")
NO_AGENT_ONLINE = t("no_agent_online")
ALREADY_QUEUED = t("already_queued")
RATING_QUESTION = t("rating_question")
RATING_THANKS = t("rating_thanks")


class HandoffError(Exception):
    def __init__(self, message: str, status: int = 409, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def next_state(state: str, event: str) -> str:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise HandoffError(f"cannot {event} a conversation that is '{state}'") from None


Notify = Callable[[dict[str, Any]], Awaitable[None]]
Deliver = Callable[[Conversation, list[OutgoingMessage]], Awaitable[None]]
Signal = Callable[[Conversation, dict[str, Any]], Awaitable[None]]  # a frame, not a message
TYPING_EVERY = 2.0  # seconds: typing is passed on at most this often per conversation
HandoffEventKind = Literal[
    "queued", "claimed", "transferred", "agent_message", "customer_message", "resolved", "withdrawn"
]


@dataclass(frozen=True)
class HandoffEvent:
    """What happened to a handoff, for listeners beyond the console (e.g. the Slack desk).
    `agent` is the username of the agent who acted; `text` the message of a *_message event."""

    kind: HandoffEventKind
    handoff_id: int
    agent: str | None = None
    text: str = ""


HandoffListener = Callable[[HandoffEvent], Awaitable[None]]
AutoAssign = Callable[[int], Awaitable[Agent | None]]  # claims a new handoff for someone, or not


def email_in(text: str) -> str | None:
    """The first e-mail address in `text`, if any (at most 254 characters)."""
    found = EMAIL.search(text or "")
    return found.group(0) if found and len(found.group(0)) <= 254 else None


class Handoffs:
    def __init__(
        self,
        db: Database,
        store: Store,
        rasa: RasaClient,
        surveys: Surveys | None = None,
        queue: QueueStatus | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.rasa = rasa
        self.surveys = surveys or Surveys(db)  # what the customer is asked after a resolve
        self.queue = queue or QueueStatus(db)  # position and expected wait of the queued
        self.notify: Notify | None = None  # agent console events
        self.deliver: Deliver | None = None  # to the customer's channel
        self.signal: Signal | None = None  # e.g. "Ana is typing" to the customer's channel
        self._typing: dict[str, float] = {}  # conversation key / handoff → last passed on
        self.agents_online: Callable[[], bool] = lambda: False
        self.listeners: list[HandoffListener] = []  # told of every HandoffEvent, in order
        self.auto_assign: AutoAssign | None = None  # bot/routing.py, when ROUTING_AUTO_ASSIGN

    async def _notify(self, event: dict[str, Any]) -> None:
        if self.notify:
            await self.notify(event)

    async def emit(self, event: HandoffEvent) -> None:
        """Tell every listener; a failing listener is logged and never fails the handoff."""
        for listener in self.listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("handoff listener failed on %s", event)

    async def _rasa_event(self, key: str, event: str) -> None:
        try:
            await self.rasa.append_event(key, {"event": event})
        except RasaUnavailable as exc:  # the hub routes by state anyway; Rasa catches up later
            log.warning("could not %s Rasa for %s: %s", event, key, exc)

    async def open_for(self, conversation_id: int) -> Handoff | None:
        async with self.db.session() as s:
            query = (
                select(Handoff)
                .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN))
                .order_by(Handoff.id.desc())
            )
            return (await s.execute(query)).scalars().first()

    async def request(
        self, conversation: Conversation, reason: str, frustration: float, detail: dict[str, Any]
    ) -> OutgoingMessage:
        """Queue the conversation for a person; returns what to tell the customer."""
        if conversation.state != "bot":
            return OutgoingMessage(t("already_queued", conversation.language), sender="system")
        state = next_state(conversation.state, "request")
        hours = self.queue.hours
        team = hours.team_for(conversation.language)
        closed = not hours.schedule(team).is_open(self.queue.clock())
        async with self.db.session() as s:
            handoff = Handoff(
                conversation_id=conversation.id,
                reason=reason if reason in REASONS else "requested",
                status="queued",
                frustration=frustration,
                detail=detail,
                team=team,
                out_of_hours=closed,
            )
            s.add(handoff)
            await s.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(state=state, awaiting_rating=False)
            )
            await s.commit()
        conversation.state = state
        await self._rasa_event(conversation.key, "pause")
        await self._notify({"type": "queue"})
        await self.emit(HandoffEvent("queued", handoff.id))
        language = conversation.language
        agent = None if closed else await self._auto_assign(handoff.id)
        if agent is not None:  # claimed for them: the customer hears it in this very reply
            conversation.state = "with_agent"
            name = agent.display_name
            return OutgoingMessage(
                f"{t('agent_online', language)}\n\n{t('agent_joined', language, agent=name)}",
                sender="system",
                custom={
                    "handoff": {"reason": handoff.reason},
                    "agent": name,
                    "status": {"state": "with_agent", "agent": name},
                },
            )
        return await self._queued_message(conversation, handoff)

    async def _auto_assign(self, handoff_id: int) -> Agent | None:
        """The agent the new handoff was claimed for, if any; a failure leaves it queued."""
        if self.auto_assign is None:
            return None
        try:
            return await self.auto_assign(handoff_id)
        except Exception:
            log.exception("auto-assignment of handoff %s failed: it stays queued", handoff_id)
            return None

    async def _queued_message(
        self, conversation: Conversation, handoff: Handoff
    ) -> OutgoingMessage:
        """What a customer whose handoff waits is told: a person takes over (or, while the team
        is closed, when we open and that they may leave an e-mail), and their position."""
        language = conversation.language
        standing = await self.queue.standing(handoff.id)
        self.queue.told(conversation.id)
        if standing.opens_at is not None:  # closed: when we open, and the offer of an e-mail
            now = self.queue.clock()
            parts = [t("closed_now", language), opens(standing, language, now)]
            parts += [t("closed_queued", language), t("leave_email", language)]
            where = t("queue_position", language, position=standing.position)
            text = f"{' '.join(parts)}\n\n{where}"
        else:
            text = t("agent_online" if self.agents_online() else "no_agent_online", language)
            text = f"{text}\n\n{describe(standing, language)}"
        return OutgoingMessage(
            text,
            sender="system",
            custom={"handoff": {"reason": handoff.reason}, "status": standing.to_dict()},
        )

    async def acknowledge(
        self, conversation: Conversation, text: str = ""
    ) -> OutgoingMessage | None:
        """A short "your message is with the team" with the position and expected wait (or when
        we open), for a message while queued; None when the customer was told less than
        `ack_every` ago. An e-mail address in a message queued out of hours is kept on the
        customer and confirmed ("we'll write to …")."""
        handoff = await self.open_for(conversation.id)
        if handoff is None or handoff.status != "queued":
            return None
        language = conversation.language
        email = email_in(text) if handoff.out_of_hours else None
        if email:
            async with self.db.session() as s:
                await s.execute(
                    update(Customer)
                    .where(Customer.id == conversation.customer_id)
                    .values(email=email)
                )
                await s.commit()
            self.queue.told(conversation.id)
            await self._notify({"type": "queue"})
            return OutgoingMessage(
                t("email_saved", language, email=email), sender="system", custom={"email": email}
            )
        if not self.queue.due(conversation.id):
            return None
        standing = await self.queue.standing(handoff.id)
        self.queue.told(conversation.id)
        now = self.queue.clock()
        said = f"{t('queued_ack', language)} {describe(standing, language, now)}"
        return OutgoingMessage(said, sender="system", custom={"status": standing.to_dict()})

    async def status(self, conversation: Conversation) -> dict[str, Any]:
        """Where the conversation stands, as the widget's header shows it: `{"state": "bot"}`,
        `{"state": "queued", "position", "wait_minutes"}` or `{"state": "with_agent",
        "agent": display name}`."""
        handoff = await self.open_for(conversation.id)
        if handoff is None:
            return {"state": "bot"}
        if handoff.status == "queued":
            return (await self.queue.standing(handoff.id)).to_dict()
        async with self.db.session() as s:
            agent = await s.get(Agent, handoff.agent_id) if handoff.agent_id else None
        return {"state": "with_agent", "agent": agent.display_name if agent else None}

    def _throttled(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._typing.get(key, -TYPING_EVERY) < TYPING_EVERY:
            return True
        self._typing[key] = now
        return False

    async def customer_typing(self, key: str) -> bool:
        """The customer of a queued or claimed conversation is typing: agents' consoles get
        `{"type": "typing", "conversation": key, "handoff_id"}` (throttled). Whether it was
        passed on."""
        conversation = await self.store.conversation(key)
        if conversation is None or conversation.state not in ("queued", "with_agent"):
            return False
        handoff = await self.open_for(conversation.id)
        if handoff is None or self._throttled(f"customer:{key}"):
            return False
        await self._notify({"type": "typing", "conversation": key, "handoff_id": handoff.id})
        return True

    async def agent_typing(self, handoff_id: int, agent: Agent) -> bool:
        """The agent who has the conversation is typing: the customer's channel may show
        "Ana is typing…" (throttled). Whether it was passed on."""
        _, conversation = await self._owned(handoff_id, agent)
        if self.signal is None or self._throttled(f"agent:{handoff_id}"):
            return False
        await self.signal(conversation, {"type": "typing", "agent": agent.display_name})
        return True

    async def _announce(self, conversation: Conversation, key: str, agent: Agent) -> None:
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

    async def get(self, handoff_id: int) -> tuple[Handoff, Conversation]:
        async with self.db.session() as s:
            handoff = await s.get(Handoff, handoff_id)
            if handoff is None:
                raise HandoffError(f"no handoff {handoff_id}", 404)
            conversation = await s.get(Conversation, handoff.conversation_id)
            assert conversation is not None
            return handoff, conversation

    async def claim(
        self, handoff_id: int, agent: Agent, announce: bool = True, offered: bool = False
    ) -> Handoff:
        """Exactly one agent wins: the update only matches while the handoff is queued.
        `announce`: tell the customer "Ana joined" now (else the caller tells them);
        `offered`: the router picked the agent (auto-assignment; `offered_to`, `offered_at`)."""
        handoff, conversation = await self.get(handoff_id)
        now = utcnow()
        picked = {"offered_to": agent.id, "offered_at": now} if offered else {}
        async with self.db.session() as s:
            result = await s.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.status == "queued")
                .values(status="claimed", agent_id=agent.id, claimed_at=now, **picked)
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
            await s.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(state=next_state(conversation.state, "claim"))
            )
            await s.commit()
        self.queue.forget(conversation.id)
        if announce:
            await self._announce(conversation, "agent_joined", agent)
        await self._notify({"type": "queue"})
        await self.emit(HandoffEvent("claimed", handoff_id, agent.username))
        return (await self.get(handoff_id))[0]

    async def _owned(self, handoff_id: int, agent: Agent) -> tuple[Handoff, Conversation]:
        handoff, conversation = await self.get(handoff_id)
        if handoff.status != "claimed" or handoff.agent_id != agent.id:
            raise HandoffError("claim this conversation first: another agent or nobody has it")
        return handoff, conversation

    async def reply(self, handoff_id: int, agent: Agent, text: str) -> dict[str, Any]:
        """Send an agent's reply to the customer; returns it as the console shows messages."""
        _, conversation = await self._owned(handoff_id, agent)
        message = OutgoingMessage(text, sender="agent", custom={"agent": agent.display_name})
        (stored,) = await self.store.store_outgoing(conversation.id, [message])
        if self.deliver:
            await self.deliver(conversation, [message])
        shown = {
            "id": stored.id,
            "sender": "agent",
            "agent": agent.display_name,
            "text": text,
            "at": stored.created_at.isoformat(),
        }
        await self._notify({"type": "message", "handoff_id": handoff_id, "message": shown})
        await self.emit(HandoffEvent("agent_message", handoff_id, agent.username, text))
        return shown

    async def add_note(self, handoff_id: int, agent: Agent, text: str) -> Note:
        _, conversation = await self.get(handoff_id)
        async with self.db.session() as s:
            note = Note(conversation_id=conversation.id, agent_id=agent.id, text=text)
            s.add(note)
            await s.commit()
        return note

    async def transfer(self, handoff_id: int, agent: Agent, to: Agent) -> Handoff:
        handoff, conversation = await self.get(handoff_id)
        if handoff.status != "claimed":
            raise HandoffError("only a claimed conversation can be transferred")
        if handoff.agent_id != agent.id and agent.role != "admin":
            raise HandoffError("only the agent who has it (or an admin) can transfer it", 403)
        next_state(conversation.state, "transfer")
        async with self.db.session() as s:
            await s.execute(update(Handoff).where(Handoff.id == handoff_id).values(agent_id=to.id))
            await s.commit()
        if to.id != handoff.agent_id:
            await self._announce(conversation, "agent_transferred", to)
        await self._notify({"type": "queue"})
        await self.emit(HandoffEvent("transferred", handoff_id, to.username))
        return (await self.get(handoff_id))[0]

    async def resolve(
        self, handoff_id: int, agent: Agent, note: str, survey: bool = True
    ) -> Handoff:
        """Hand the conversation back to the bot, which asks the customer for a rating unless
        `survey` is False (the agent resolved without a survey: `survey_skipped`) or the customer
        was asked recently (SURVEY_EVERY_DAYS)."""
        handoff, conversation = await self.get(handoff_id)
        if handoff.status == "claimed" and handoff.agent_id != agent.id and agent.role != "admin":
            raise HandoffError("only the agent who has it (or an admin) can resolve it", 403)
        if handoff.status not in OPEN:
            raise HandoffError(f"this handoff is already {handoff.status}")
        state = next_state(conversation.state, "resolve")
        ask = survey and await self.surveys.due(conversation)
        async with self.db.session() as s:
            await s.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id)
                .values(
                    status="resolved",
                    resolved_at=utcnow(),
                    resolution_note=note,
                    agent_id=handoff.agent_id or agent.id,
                    survey_skipped=not survey,
                )
            )
            await s.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(state=state, awaiting_rating=ask)
            )
            await s.commit()
        await self._rasa_event(conversation.key, "resume")
        told = await self.surveys.resolved_message(
            conversation, handoff_id, agent.display_name, ask, "skipped" if not survey else "recent"
        )
        told = replace(told, custom={**(told.custom or {}), "status": {"state": "bot"}})
        self.queue.forget(conversation.id)
        await self.store.store_outgoing(conversation.id, [told])
        if self.deliver:
            await self.deliver(conversation, [told])
        await self._notify({"type": "queue"})
        await self.emit(HandoffEvent("resolved", handoff_id, agent.username))
        return (await self.get(handoff_id))[0]

    async def withdraw(self, conversation: Conversation) -> bool:
        """The bot is back before anyone claimed a `bot_error` handoff: it takes over again."""
        handoff = await self.open_for(conversation.id)
        if handoff is None or handoff.status != "queued" or handoff.reason != "bot_error":
            return False
        async with self.db.session() as s:
            await s.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status == "queued")
                .values(status="withdrawn", resolved_at=utcnow())
            )
            await s.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(state=next_state(conversation.state, "withdraw"))
            )
            await s.commit()
        conversation.state = "bot"
        self.queue.forget(conversation.id)
        await self._rasa_event(conversation.key, "resume")
        await self._notify({"type": "queue"})
        await self.emit(HandoffEvent("withdrawn", handoff.id))
        return True
