"""The handoff between the bot and human agents (states and the one transition function:
bot/handoff/states.py).

While a conversation is `queued` or `with_agent`, customer messages go to the agents, never to
Rasa; Rasa itself is told with its own `pause` / `resume` events (ConversationPaused /
ConversationResumed) so the assistant stays silent.

A handoff is queued for a team (bot/handoff/hours.py: by the conversation's language, else the
default team). While that team is closed it is queued all the same (`out_of_hours`), the
customer is told when we open and may leave an e-mail address. While it is open, `auto_assign`
(bot/handoff/routing.py, when ROUTING_AUTO_ASSIGN is on) may claim it at once for an online
agent.

What happens is published once on the event bus (bot/cluster/events.py): `handoff_queued`,
`handoff_claimed`, `handoff_transferred`, `handoff_resolved`, `handoff_withdrawn`,
`agent_message` and `customer_message`, each with the frames the agents' consoles show; the
Slack desk, auto-assignment and the gap log subscribe to them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update

from bot.cluster.events import EventKind, LocalBus, console_event
from bot.conversation.surveys import Surveys
from bot.emails import email_in
from bot.handoff.claims import QUEUE_FRAME, Claims, Deliver, HandoffError, handoff_event, load
from bot.handoff.queue_status import QueueStatus, describe, opens
from bot.handoff.states import OPEN, WITH_PEOPLE, Action, State, Status, TransitionError, transition
from bot.i18n import t
from bot.messages import OutgoingMessage
from bot.rasa.client import RasaClient, RasaUnavailable
from bot.storage.db import Database
from bot.storage.models import Agent, Conversation, Customer, Handoff, Message, Note, utcnow
from bot.storage.repo import Store

log = logging.getLogger(__name__)

REASONS = ("requested", "frustration", "unanswered", "policy", "bot_error")

# what the customer is told, in English; in their language: bot.i18n.t(key, language)
AGENT_ONLINE = t("agent_online")
NO_AGENT_ONLINE = t("no_agent_online")
ALREADY_QUEUED = t("already_queued")
RATING_QUESTION = t("rating_question")
RATING_THANKS = t("rating_thanks")


def next_state(state: str, action: Action) -> State:
    """The conversation's state after `action` (HandoffError, 409, when not allowed)."""
    try:
        return transition(state, action).state
    except TransitionError as exc:
        raise HandoffError(str(exc)) from None


Signal = Callable[[Conversation, dict[str, Any]], Awaitable[None]]  # a frame, not a message
TYPING_EVERY = 2.0  # seconds: typing is passed on at most this often per conversation
AutoAssign = Callable[[int], Awaitable[Agent | None]]  # claims a new handoff for someone, or not


class Handoffs:
    """`bus`: where handoff events are published (the consoles, the Slack desk, auto-assignment
    and the gap log listen there); `deliver` / `signal`: to the customer's channel
    (bot/conversation/outbox.py); `claims`: who gets a queued handoff (shared with auto-assignment);
    `auto_assign`: claims a new handoff for an online agent (bot/handoff/routing.py), when on."""

    def __init__(
        self,
        db: Database,
        store: Store,
        rasa: RasaClient,
        surveys: Surveys | None = None,
        queue: QueueStatus | None = None,
        *,
        bus: LocalBus | None = None,
        deliver: Deliver | None = None,
        signal: Signal | None = None,
        agents_online: Callable[[], bool] = lambda: False,
        claims: Claims | None = None,
        auto_assign: AutoAssign | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.rasa = rasa
        self.surveys = surveys or Surveys(db)  # what the customer is asked after a resolve
        self.queue = queue or QueueStatus(db)  # position and expected wait of the queued
        self.bus = bus or LocalBus()
        self.deliver = deliver
        self.signal = signal  # e.g. "Ana is typing" to the customer's channel
        self._typing: dict[str, float] = {}  # conversation key / handoff → last passed on
        self.agents_online = agents_online
        self.claims = claims or Claims(db, store, self.bus, deliver, self.queue)
        self.auto_assign = auto_assign

    async def _publish(
        self,
        kind: EventKind,
        handoff_id: int,
        conversation: Conversation,
        agent: str | None = None,
        text: str = "",
        console: list[dict[str, Any]] | None = None,
    ) -> None:
        await self.bus.publish(
            handoff_event(kind, handoff_id, conversation.key, agent, text, console)
        )

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
        if conversation.state != State.BOT:
            return OutgoingMessage(t("already_queued", conversation.language), sender="system")
        state = next_state(conversation.state, Action.REQUEST)
        hours = self.queue.hours
        team = hours.team_for(conversation.language)
        closed = not hours.schedule(team).is_open(self.queue.clock())
        async with self.db.session() as s:
            handoff = Handoff(
                conversation_id=conversation.id,
                reason=reason if reason in REASONS else "requested",
                status=Status.QUEUED,
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
        await self._publish("handoff_queued", handoff.id, conversation)
        language = conversation.language
        agent = None if closed else await self._auto_assign(handoff.id)
        if agent is not None:  # claimed for them: the customer hears it in this very reply
            conversation.state = State.WITH_AGENT
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
        if handoff is None or handoff.status != Status.QUEUED:
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
            await self.bus.publish(console_event({"type": "queue"}))
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
        if handoff.status == Status.QUEUED:
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
        if conversation is None or conversation.state not in WITH_PEOPLE:
            return False
        handoff = await self.open_for(conversation.id)
        if handoff is None or self._throttled(f"customer:{key}"):
            return False
        frame = {"type": "typing", "conversation": key, "handoff_id": handoff.id}
        await self.bus.publish(console_event(frame))
        return True

    async def agent_typing(self, handoff_id: int, agent: Agent) -> bool:
        """The agent who has the conversation is typing: the customer's channel may show
        "Ana is typing…" (throttled). Whether it was passed on."""
        _, conversation = await self._owned(handoff_id, agent)
        if self.signal is None or self._throttled(f"agent:{handoff_id}"):
            return False
        await self.signal(conversation, {"type": "typing", "agent": agent.display_name})
        return True

    async def get(self, handoff_id: int) -> tuple[Handoff, Conversation]:
        return await load(self.db, handoff_id)

    async def claim(
        self, handoff_id: int, agent: Agent, announce: bool = True, offered: bool = False
    ) -> Handoff:
        """See `Claims.claim`: exactly one agent wins."""
        return await self.claims.claim(handoff_id, agent, announce, offered)

    async def _owned(self, handoff_id: int, agent: Agent) -> tuple[Handoff, Conversation]:
        handoff, conversation = await self.get(handoff_id)
        if handoff.status != Status.CLAIMED or handoff.agent_id != agent.id:
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
        frame = {"type": "message", "handoff_id": handoff_id, "message": shown}
        await self._publish(
            "agent_message", handoff_id, conversation, agent.username, text, console=[frame]
        )
        return shown

    async def customer_wrote(
        self, handoff_id: int, conversation: Conversation, message: Message
    ) -> None:
        """A customer's message in a handoff: the consoles show it (and the queue's preview)."""
        shown = {
            "id": message.id,
            "sender": "customer",
            "text": message.text,
            "at": message.created_at.isoformat(),
        }
        frames = [{"type": "message", "handoff_id": handoff_id, "message": shown}, QUEUE_FRAME]
        await self._publish(
            "customer_message", handoff_id, conversation, text=message.text, console=frames
        )

    async def add_note(self, handoff_id: int, agent: Agent, text: str) -> Note:
        _, conversation = await self.get(handoff_id)
        async with self.db.session() as s:
            note = Note(conversation_id=conversation.id, agent_id=agent.id, text=text)
            s.add(note)
            await s.commit()
        return note

    async def transfer(self, handoff_id: int, agent: Agent, to: Agent) -> Handoff:
        handoff, conversation = await self.get(handoff_id)
        if handoff.status != Status.CLAIMED:
            raise HandoffError("only a claimed conversation can be transferred")
        if handoff.agent_id != agent.id and agent.role != "admin":
            raise HandoffError("only the agent who has it (or an admin) can transfer it", 403)
        next_state(conversation.state, Action.TRANSFER)
        async with self.db.session() as s:
            await s.execute(update(Handoff).where(Handoff.id == handoff_id).values(agent_id=to.id))
            await s.commit()
        if to.id != handoff.agent_id:
            await self.claims.announce(conversation, "agent_transferred", to)
        await self._publish("handoff_transferred", handoff_id, conversation, to.username)
        return (await self.get(handoff_id))[0]

    async def resolve(
        self, handoff_id: int, agent: Agent, note: str, survey: bool = True
    ) -> Handoff:
        """Hand the conversation back to the bot, which asks the customer for a rating unless
        `survey` is False (the agent resolved without a survey: `survey_skipped`) or the customer
        was asked recently (SURVEY_EVERY_DAYS)."""
        handoff, conversation = await self.get(handoff_id)
        if (
            handoff.status == Status.CLAIMED
            and handoff.agent_id != agent.id
            and agent.role != "admin"
        ):
            raise HandoffError("only the agent who has it (or an admin) can resolve it", 403)
        if handoff.status not in OPEN:
            raise HandoffError(f"this handoff is already {handoff.status}")
        state = next_state(conversation.state, Action.RESOLVE)
        ask = survey and await self.surveys.due(conversation)
        async with self.db.session() as s:
            await s.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id)
                .values(
                    status=Status.RESOLVED,
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
        await self._publish("handoff_resolved", handoff_id, conversation, agent.username)
        return (await self.get(handoff_id))[0]

    async def withdraw(self, conversation: Conversation) -> bool:
        """The bot is back before anyone claimed a `bot_error` handoff: it takes over again."""
        handoff = await self.open_for(conversation.id)
        if handoff is None or handoff.status != Status.QUEUED or handoff.reason != "bot_error":
            return False
        async with self.db.session() as s:
            await s.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status == Status.QUEUED)
                .values(status=Status.WITHDRAWN, resolved_at=utcnow())
            )
            await s.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(state=next_state(conversation.state, Action.WITHDRAW))
            )
            await s.commit()
        conversation.state = State.BOT
        self.queue.forget(conversation.id)
        await self._rasa_event(conversation.key, "resume")
        await self._publish("handoff_withdrawn", handoff.id, conversation)
        return True
