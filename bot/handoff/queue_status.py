"""Where a queued customer stands: their position and an honest expected wait.

The expected wait comes from measured handling times only: the median queue wait
(`created_at` → `claimed_at`) of the handoffs claimed in the last `HISTORY` days, scaled by the
customer's position and the number of agents online. Without such history there is no
estimate ("no estimate yet"), never a made-up number. While the handoff's team is closed
(bot/handoff/hours.py) there is no estimate in minutes either: the customer is told when we open.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.handoff.hours import BusinessHours, opening_text
from bot.i18n import t
from bot.storage.db import Database
from bot.storage.models import Handoff, utcnow

HISTORY = timedelta(days=7)  # which claimed handoffs the median is taken from
ACK_EVERY = timedelta(minutes=2)  # a queued customer is told where they stand at most this often


@dataclass(frozen=True)
class Standing:
    position: int  # 1 = next to be claimed
    wait_minutes: int | None  # None: no history to estimate from, or the team is closed
    opens_at: datetime | None = None  # the team is closed: when it opens (in its time zone)
    zone: str | None = None  # the team's time zone, as customers are told it

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "state": "queued",
            "position": self.position,
            "wait_minutes": self.wait_minutes,
        }
        if self.opens_at is not None:
            shown.update(out_of_hours=True, opens_at=self.opens_at.isoformat(), zone=self.zone)
        return shown


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expected_wait(waits: Sequence[float], position: int, agents_online: int) -> int | None:
    """Minutes a customer at `position` can expect to wait, from measured queue waits (in
    seconds): the median wait per customer ahead, shared among the agents online (at least
    one: a queue with nobody online waits as long as it historically did). None without
    history."""
    if not waits:
        return None
    median = statistics.median(waits)
    seconds = median * max(position, 1) / max(agents_online, 1)
    return max(1, math.ceil(seconds / 60))


def opens(standing: Standing, language: str | None, now: datetime | None = None) -> str:
    """ "We open at Monday 09:00 (Europe/Sarajevo time)." for a closed team, else ""."""
    if standing.opens_at is None:
        return ""
    when = opening_text(standing.opens_at, now or utcnow(), language)
    return t("queue_opens", language, opens=when, zone=standing.zone)


def describe(standing: Standing, language: str | None, now: datetime | None = None) -> str:
    """The customer's position and expected wait (or when we open), in their language."""
    where = t("queue_position", language, position=standing.position)
    if standing.opens_at is not None:
        return f"{where} {opens(standing, language, now)}"
    if standing.wait_minutes is None:
        return f"{where} {t('queue_no_estimate', language)}"
    return f"{where} {t('queue_wait', language, minutes=standing.wait_minutes)}"


class QueueStatus:
    def __init__(
        self,
        db: Database,
        agents_online: Callable[[], int] = lambda: 0,
        clock: Callable[[], datetime] = utcnow,
        ack_every: timedelta = ACK_EVERY,
        hours: BusinessHours | None = None,
    ) -> None:
        self.db = db
        self.hours = hours or BusinessHours.always()  # a closed team: "we open at …"
        self.agents_online = agents_online  # how many agents have the console open
        self.clock = clock
        self.ack_every = ack_every
        self._told: dict[int, datetime] = {}  # conversation id → last time told where they stand

    async def recent_waits(self) -> list[float]:
        """Seconds each handoff claimed in the last HISTORY days waited in the queue."""
        since = self.clock() - HISTORY
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(Handoff.created_at, Handoff.claimed_at).where(
                        Handoff.claimed_at.is_not(None), Handoff.claimed_at >= since
                    )
                )
            ).all()
        return [
            max(0.0, (_aware(claimed) - _aware(created)).total_seconds())
            for created, claimed in rows
            if claimed is not None
        ]

    async def position(self, handoff_id: int) -> int:
        """1 + the number of handoffs still queued that were queued before this one."""
        async with self.db.session() as s:
            ahead = await s.scalar(
                select(func.count())
                .select_from(Handoff)
                .where(Handoff.status == "queued", Handoff.id < handoff_id)
            )
        return int(ahead or 0) + 1

    async def standing(self, handoff_id: int) -> Standing:
        position = await self.position(handoff_id)
        async with self.db.session() as s:
            team = await s.scalar(select(Handoff.team).where(Handoff.id == handoff_id))
        schedule, now = self.hours.schedule(team), self.clock()
        if not schedule.is_open(now):
            return Standing(position, None, schedule.next_opening(now), schedule.zone_name)
        waits = await self.recent_waits()
        return Standing(position, expected_wait(waits, position, self.agents_online()))

    def due(self, conversation_id: int) -> bool:
        """Whether the customer should be told again (not more often than `ack_every`)."""
        last = self._told.get(conversation_id)
        return last is None or self.clock() - last >= self.ack_every

    def told(self, conversation_id: int) -> None:
        self._told[conversation_id] = self.clock()

    def forget(self, conversation_id: int) -> None:
        self._told.pop(conversation_id, None)
