"""The report tables (`GET /api/reports/{table}`), each a list of rows with fixed columns.
Built from the SQL blocks of `bot.reports.sql`; a table's independent queries run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Executable, func, select

from bot.reports.filters import ReportFilters
from bot.reports.sql import DAY, MEASURES, ReportSQL, Scope
from bot.reports.values import Rows, iso_day, iso_time, satisfaction, share, timing
from bot.storage.models import Agent, Gap, GapCluster

LIST_LIMIT = 5000  # rows of the list tables (comments, repeats): the newest
TOP_GAPS = 50
TOP_ARTICLES = 500

TABLES: dict[str, tuple[str, ...]] = {
    "daily": (
        "date",
        "conversations",
        "customer_messages",
        "answered",
        "clarified",
        "unknown",
        "handoffs",
        "contained",
    ),
    "reasons": ("reason", "handoffs", "share", "csat", "ratings"),
    "agents": (
        "agent",
        "display_name",
        "handled",
        "queue_wait_median",
        "queue_wait_p90",
        "first_response_median",
        "first_response_p90",
        "resolution_median",
        "resolution_p90",
        "csat",
        "ratings",
    ),
    "channels": (
        "channel",
        "conversations",
        "containment",
        "handoffs",
        "first_response_median",
        "first_response_p90",
        "resolution_median",
        "resolution_p90",
        "csat",
        "ratings",
    ),
    "languages": ("language", "conversations", "containment", "handoffs", "csat", "ratings"),
    "ratings": ("score", "count"),
    "comments": (
        "created_at",
        "score",
        "comment",
        "channel",
        "language",
        "agent",
        "reason",
        "conversation_id",
    ),
    "articles": ("article_id", "language", "answers", "yes", "no"),
    "gaps": ("cluster_id", "language", "label", "count", "status", "last_seen"),
    "repeats": (
        "customer_id",
        "channel",
        "topic",
        "first_conversation_id",
        "repeat_conversation_id",
        "days_between",
    ),
}
DAILY_COUNTS = TABLES["daily"][1:]

Fetch = Callable[[Executable], Awaitable[Rows]]
Build = Callable[[Scope, ReportFilters], Awaitable[Rows]]


def timing_columns(
    timings: Mapping[tuple[Any, str], Mapping[str, Any]], key: Any, measures: Iterable[str]
) -> dict[str, Any]:
    """{"<measure>_median", "<measure>_p90"} of one group."""
    values: dict[str, Any] = {}
    for measure in measures:
        found = timing(timings.get((key, measure)))
        values[f"{measure}_median"] = found["median"]
        values[f"{measure}_p90"] = found["p90"]
    return values


class ReportTables:
    def __init__(self, sql: ReportSQL, fetch: Fetch) -> None:
        self.sql = sql
        self.fetch = fetch

    def builder(self, name: str) -> tuple[tuple[str, ...], Build]:
        """The columns of table `name` and the coroutine that builds its rows (KeyError for an
        unknown table)."""
        columns = TABLES[name]
        build: Build = getattr(self, f"_{name}")
        return columns, build

    async def _all(self, *queries: Executable) -> list[Rows]:
        return list(await asyncio.gather(*(self.fetch(q) for q in queries)))

    # -- queries shared by several tables -----------------------------------------------------

    def _timings(self, scope: Scope, key: str) -> Executable:
        times = self.sql.handoff_times(scope, self.sql.conversations(scope))
        return self.sql.percentiles(times, key)

    def _csat(self, scope: Scope, key: str) -> Executable:
        ratings = self.sql.csat(scope, self.sql.conversations(scope))
        column = ratings.c[key]
        return select(column.label("key"), *self.sql.csat_totals(ratings)).group_by(column)

    def _groups(self, scope: Scope, key: str) -> Executable:
        facts = self.sql.facts(scope, self.sql.conversations(scope))
        return select(facts.c[key].label("key"), *self.sql.fact_totals(facts)).group_by(
            facts.c[key]
        )

    @staticmethod
    def _by_key(rows: Rows) -> dict[Any, dict[str, Any]]:
        return {r["key"]: r for r in rows}

    @staticmethod
    def _by_key_and_measure(rows: Rows) -> dict[tuple[Any, str], dict[str, Any]]:
        return {(r["key"], r["measure"]): r for r in rows}

    @staticmethod
    def _biggest_first(rows: Rows) -> Rows:
        return sorted(rows, key=lambda r: (-int(r["conversations"]), str(r["key"] or "")))

    # -- the tables ---------------------------------------------------------------------------

    async def _daily(self, scope: Scope, filters: ReportFilters) -> Rows:
        facts = self.sql.facts(scope, self.sql.conversations(scope))
        query = select(facts.c.day, *self.sql.fact_totals(facts)).group_by(facts.c.day)
        found = {iso_day(r["day"]): r for r in await self.fetch(query)}
        empty: dict[str, Any] = {}
        return [  # every day of the range, with zeros where nothing happened
            {
                "date": day.isoformat(),
                **{k: int(found.get(day.isoformat(), empty).get(k) or 0) for k in DAILY_COUNTS},
            }
            for day in filters.days()
        ]

    async def _reasons(self, scope: Scope, _: ReportFilters) -> Rows:
        times = self.sql.handoff_times(scope, self.sql.conversations(scope))
        counted, rated = await self._all(
            select(times.c.reason.label("key"), func.count().label("handoffs")).group_by(
                times.c.reason
            ),
            self._csat(scope, "reason"),
        )
        counts = {r["key"]: int(r["handoffs"]) for r in counted}
        csat = self._by_key(rated)
        total = sum(counts.values())
        reasons = sorted(
            set(counts) | {k for k in csat if k is not None},
            key=lambda k: (-counts.get(k, 0), k),
        )
        return [
            {
                "reason": reason,
                "handoffs": counts.get(reason, 0),
                "share": share(counts.get(reason, 0), total),
                **satisfaction(csat.get(reason)),
            }
            for reason in reasons
        ]

    async def _agents(self, scope: Scope, _: ReportFilters) -> Rows:
        times = self.sql.handoff_times(scope, self.sql.conversations(scope))
        handled, timed, rated = await self._all(
            select(Agent.id, Agent.username, Agent.display_name, func.count().label("handled"))
            .join(times, times.c.agent_id == Agent.id)
            .group_by(Agent.id, Agent.username, Agent.display_name),
            self._timings(scope, "agent_id"),
            self._csat(scope, "agent_id"),
        )
        timings, csat = self._by_key_and_measure(timed), self._by_key(rated)
        rows = [
            {
                "agent": r["username"],
                "display_name": r["display_name"],
                "handled": int(r["handled"]),
                **timing_columns(timings, r["id"], MEASURES),
                **satisfaction(csat.get(r["id"])),
            }
            for r in handled
        ]
        return sorted(rows, key=lambda r: (-r["handled"], r["agent"]))

    async def _channels(self, scope: Scope, _: ReportFilters) -> Rows:
        groups, timed, rated = await self._all(
            self._groups(scope, "channel"),
            self._timings(scope, "channel"),
            self._csat(scope, "channel"),
        )
        timings, csat = self._by_key_and_measure(timed), self._by_key(rated)
        return [
            {
                "channel": r["key"],
                "conversations": int(r["conversations"]),
                "containment": share(r["contained"], r["bot_conversations"]),
                "handoffs": int(r["handoffs"]),
                **timing_columns(timings, r["key"], ("first_response", "resolution")),
                **satisfaction(csat.get(r["key"])),
            }
            for r in self._biggest_first(groups)
        ]

    async def _languages(self, scope: Scope, _: ReportFilters) -> Rows:
        groups, rated = await self._all(
            self._groups(scope, "language"), self._csat(scope, "language")
        )
        csat = self._by_key(rated)
        return [
            {
                "language": r["key"],
                "conversations": int(r["conversations"]),
                "containment": share(r["contained"], r["bot_conversations"]),
                "handoffs": int(r["handoffs"]),
                **satisfaction(csat.get(r["key"])),
            }
            for r in self._biggest_first(groups)
        ]

    async def _ratings(self, scope: Scope, _: ReportFilters) -> Rows:
        ratings = self.sql.csat(scope, self.sql.conversations(scope))
        query = select(ratings.c.score, func.count().label("count")).group_by(ratings.c.score)
        counts = {int(r["score"]): int(r["count"]) for r in await self.fetch(query)}
        return [{"score": score, "count": counts.get(score, 0)} for score in range(1, 6)]

    async def _comments(self, scope: Scope, _: ReportFilters) -> Rows:
        query = self.sql.comments(scope, self.sql.conversations(scope), LIST_LIMIT)
        return [{**r, "created_at": iso_time(r["created_at"])} for r in await self.fetch(query)]

    async def _articles(self, scope: Scope, _: ReportFilters) -> Rows:
        query = self.sql.articles(self.sql.conversations(scope), scope, TOP_ARTICLES)
        return [
            {
                "article_id": r["article_id"],
                "language": r["language"],
                "answers": int(r["answers"]),
                "yes": int(r["yes"]),
                "no": int(r["no"]),
            }
            for r in await self.fetch(query)
        ]

    async def _gaps(self, scope: Scope, _: ReportFilters) -> Rows:
        conv = self.sql.conversations(scope)
        count = func.count(Gap.id)
        query = (
            select(
                GapCluster.id.label("cluster_id"),
                GapCluster.language,
                GapCluster.question.label("label"),
                count.label("count"),
                GapCluster.status,
                GapCluster.last_seen,
            )
            .join(Gap, Gap.cluster_id == GapCluster.id)
            .join(conv, conv.c.key == Gap.conversation_key)
            .where(GapCluster.status == "open", Gap.created_at >= scope.start)
            .group_by(
                GapCluster.id,
                GapCluster.language,
                GapCluster.question,
                GapCluster.status,
                GapCluster.last_seen,
            )
            .order_by(count.desc(), GapCluster.id)
            .limit(TOP_GAPS)
        )
        return [
            {**r, "count": int(r["count"]), "last_seen": iso_time(r["last_seen"])}
            for r in await self.fetch(query)
        ]

    async def _repeats(self, scope: Scope, _: ReportFilters) -> Rows:
        topics = self.sql.topics(self.sql.conversations(scope), scope, listing=True)
        query = (
            select(
                topics.c.customer_id,
                topics.c.channel,
                self.sql.topic(topics).label("topic"),
                topics.c.prev_conversation_id.label("first_conversation_id"),
                topics.c.conversation_id.label("repeat_conversation_id"),
                (self.sql.repeat_gap(topics) / DAY).label("days_between"),
            )
            .where(self.sql.is_repeat(topics))
            .order_by(topics.c.created_at.desc())
            .limit(LIST_LIMIT)
        )
        return [
            {**r, "days_between": round(float(r["days_between"]), 2)}
            for r in await self.fetch(query)
        ]
