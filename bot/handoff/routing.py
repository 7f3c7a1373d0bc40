"""Auto-assignment of queued handoffs to online agents, as Chatwoot's auto-assignment does: the
chosen agent gets the conversation claimed on their behalf (the customer sees "Ana joined",
the console's Mine view shows it; `offered_to` / `offered_at` record the pick).

Who gets a handoff (`choose`, pure):
1. only agents online (a console socket open), of the handoff's team (or of no team), under
   their capacity (open claimed conversations < `max_open`, default ROUTING_MAX_OPEN; 0: never
   auto-assigned);
2. a returning customer goes to the agent who last helped them, if that agent qualifies;
3. else agents who speak the conversation's language, else anyone;
4. fairly: fewest open conversations, then longest since their last assignment.

When: a handoff is queued while its team is open; an agent comes online; an agent frees
capacity (resolve, transfer, withdraw); and every `tick` (a team that just opened). When nobody
fits, the handoff stays queued. While a team is closed its handoffs wait: agents online after
hours may still claim them by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.cluster.events import Event, EventKind
from bot.handoff.claims import Claims, HandoffError
from bot.handoff.hours import BusinessHours
from bot.handoff.states import Status
from bot.language import base  # `sr-Cyrl` → `sr`: a Serbian reader reads either script
from bot.storage.db import Database
from bot.storage.models import Agent, Conversation, Handoff, utcnow

log = logging.getLogger(__name__)

FREES_CAPACITY: tuple[EventKind, ...] = (
    "handoff_resolved",
    "handoff_transferred",
    "handoff_withdrawn",
)
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An online agent as the router sees them."""

    id: int
    username: str
    languages: frozenset[str] = frozenset()  # base tags
    team: str | None = None
    open: int = 0  # claimed conversations they have now
    capacity: int = 5
    last_assigned: datetime | None = None

    @property
    def free(self) -> bool:
        return self.open < self.capacity


@dataclass(frozen=True)
class Wanted:
    """What a handoff needs: its conversation's language, its team, the customer's last agent."""

    language: str | None = None
    team: str | None = None
    previous_agent: int | None = None


def _fairness(candidate: Candidate) -> tuple[int, datetime, str]:
    last = candidate.last_assigned or NEVER
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return candidate.open, last, candidate.username


def choose(wanted: Wanted, candidates: Iterable[Candidate]) -> Candidate | None:
    """The agent to give the handoff to, or None when nobody fits (see the module doc)."""
    free = [
        c
        for c in candidates
        if c.free and (c.team is None or wanted.team is None or c.team == wanted.team)
    ]
    if not free:
        return None
    for candidate in free:
        if wanted.previous_agent is not None and candidate.id == wanted.previous_agent:
            return candidate
    language = base(wanted.language)
    speakers = [c for c in free if language and language in c.languages]
    return min(speakers or free, key=_fairness)


class AutoAssigner:
    def __init__(
        self,
        db: Database,
        claims: Claims,
        online: Callable[[], set[str]],
        hours: BusinessHours | None = None,
        max_open: int = 5,
        clock: Callable[[], datetime] = utcnow,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled  # ROUTING_AUTO_ASSIGN: off, handoffs wait to be claimed by hand
        self.db = db
        self.claims = claims  # claims a handoff for the agent picked
        self.online = online  # usernames with a console socket open
        self.hours = hours or BusinessHours.always()
        self.max_open = max_open  # an agent's capacity unless their own max_open says
        self.clock = clock
        self._lock = asyncio.Lock()  # one assignment at a time: capacity holds

    async def candidates(self) -> list[Candidate]:
        """The agents online now, with their load and last assignment."""
        online = self.online()
        if not online:
            return []
        async with self.db.session() as s:
            agents = list(
                (
                    await s.execute(
                        select(Agent).where(Agent.username.in_(online), Agent.disabled.is_(False))
                    )
                ).scalars()
            )
            ids = [a.id for a in agents]
            load = dict(
                (
                    await s.execute(
                        select(Handoff.agent_id, func.count())
                        .where(Handoff.status == Status.CLAIMED, Handoff.agent_id.in_(ids))
                        .group_by(Handoff.agent_id)
                    )
                ).all()
            )
            last = dict(
                (
                    await s.execute(
                        select(Handoff.agent_id, func.max(Handoff.claimed_at))
                        .where(Handoff.agent_id.in_(ids))
                        .group_by(Handoff.agent_id)
                    )
                ).all()
            )
        return [
            Candidate(
                a.id,
                a.username,
                frozenset(base(str(x)) for x in a.languages or ()),
                a.team,
                int(load.get(a.id, 0)),
                self.max_open if a.max_open is None else a.max_open,
                last.get(a.id),
            )
            for a in agents
        ]

    async def wanted(self, handoff: Handoff) -> Wanted:
        async with self.db.session() as s:
            conversation = await s.get(Conversation, handoff.conversation_id)
            assert conversation is not None
            previous = await s.scalar(
                select(Handoff.agent_id)
                .join(Conversation, Conversation.id == Handoff.conversation_id)
                .where(
                    Conversation.customer_id == conversation.customer_id,
                    Handoff.agent_id.is_not(None),
                    Handoff.id != handoff.id,
                )
                .order_by(Handoff.id.desc())
                .limit(1)
            )
        return Wanted(conversation.language, handoff.team, previous)

    async def _give(
        self, handoff: Handoff, candidates: Sequence[Candidate], announce: bool
    ) -> Candidate | None:
        picked = choose(await self.wanted(handoff), candidates)
        if picked is None:
            return None
        async with self.db.session() as s:
            agent = await s.get(Agent, picked.id)
        if agent is None:
            return None
        try:
            await self.claims.claim(handoff.id, agent, announce=announce, offered=True)
        except HandoffError as exc:  # claimed by hand a moment ago, or resolved
            log.info("handoff %s not auto-assigned: %s", handoff.id, exc)
            return None
        log.info("handoff %s assigned to %s", handoff.id, agent.username)
        return picked

    async def assign_new(self, handoff_id: int) -> Agent | None:
        """A handoff just queued: claim it for the best agent online, without announcing it
        (the caller tells the customer in its own reply); None when nobody fits."""
        if not self.enabled:
            return None
        async with self._lock:
            async with self.db.session() as s:
                handoff = await s.get(Handoff, handoff_id)
            if handoff is None or handoff.status != Status.QUEUED:
                return None
            if not self.hours.schedule(handoff.team).is_open(self.clock()):
                return None
            picked = await self._give(handoff, await self.candidates(), announce=False)
            if picked is None:
                return None
            async with self.db.session() as s:
                return await s.get(Agent, picked.id)

    async def assign_waiting(self) -> int:
        """Give queued handoffs, oldest first, to the agents online who fit; how many."""
        if not self.enabled:
            return 0
        async with self._lock:
            candidates = await self.candidates()
            if not any(c.free for c in candidates):
                return 0
            async with self.db.session() as s:
                queued = list(
                    (
                        await s.execute(
                            select(Handoff)
                            .where(Handoff.status == Status.QUEUED)
                            .order_by(Handoff.created_at, Handoff.id)
                            .limit(500)
                        )
                    ).scalars()
                )
            now, done = self.clock(), 0
            for handoff in queued:
                if not self.hours.schedule(handoff.team).is_open(now):
                    continue
                picked = await self._give(handoff, candidates, announce=True)
                if picked is None:
                    continue
                done += 1
                candidates = [
                    replace(c, open=c.open + 1, last_assigned=now) if c.id == picked.id else c
                    for c in candidates
                ]
                if not any(c.free for c in candidates):
                    break
            return done

    async def agent_arrived(self, agent: Agent) -> None:
        """An agent opened the console: the oldest queued handoffs they fit are theirs."""
        await self.assign_waiting()

    async def on_event(self, event: Event) -> None:
        """On the bus (leader only): capacity freed (resolve, transfer, withdraw) → assign."""
        if event.kind in FREES_CAPACITY:
            await self.assign_waiting()

    async def tick(self, every: float = 30.0) -> None:
        """Forever: assign what waits (a team that just opened has its queue handed out)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.assign_waiting()
            except Exception:  # the database is away: next round
                log.warning("auto-assignment round failed", exc_info=True)
