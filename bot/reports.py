"""Reports: is the bot helping, how fast do people answer, how happy are customers.

`Reports(db)` computes every number in SQL (`bot.reports_sql`) for `ReportFilters`
(`bot.reports_filters`): `summary()` and the tables (`table(name)`: daily, reasons, agents,
channels, languages, ratings, comments, articles, gaps, repeats). Python only shapes the few
grouped rows each query returns. The definitions of the numbers are in the README ("Reports")
and, briefly, here:

- a conversation is in the report when it was created in the range (UTC days) and matches the
  channel and language; with an agent or reason filter, when it had a handoff claimed by that
  agent / for that reason. Handoff numbers (counts, times, CSAT) then only count such handoffs;
- `bot.replies`: customer messages the knowledge base tried to answer; answered / clarified /
  unknown: the shares of its decisions;
- `bot.conversations`: conversations in which the bot replied at least once; `contained`: those
  that got at least one answer from the knowledge base, no handoff, no "that didn't help"
  (a `not_helpful` gap) and no "no" to "did this answer your question?";
- handoffs withdrawn (the bot recovered before anyone claimed them) are not counted;
- queue wait: queued -> claimed; first response: queued -> the first agent message after it
  (until resolved); resolution: queued -> resolved; median and p90 in seconds;
- CSAT: the share of 4-5 among `csat` ratings;
- repeat contact: a customer message about the same topic as an earlier one of the same
  customer, more than 1 hour and at most 7 days after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Executable, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.reports_filters import ReportError, ReportFilters
from bot.reports_sql import DAY, MEASURES, ReportSQL, Scope, count_if
from bot.storage.db import Database, storage_errors
from bot.storage.models import Agent, Gap, GapCluster, Rating

LIST_LIMIT = 5000  # rows of the list tables (comments, repeats): the newest
TOP_GAPS = 50
TOP_ARTICLES = 500
DIGITS = 3  # seconds and shares are rounded to this many decimals

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


def share(part: Any, whole: Any) -> float | None:
    """part / whole rounded, or None when there is nothing to divide by."""
    return round(int(part or 0) / int(whole), DIGITS) if whole else None


def seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def iso_day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def iso_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite, through an expression without the column's type
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat())


def timing(row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"count": 0, "median": None, "p90": None}
    return {
        "count": int(row["count"]),
        "median": seconds(row["median"]),
        "p90": seconds(row["p90"]),
    }


class Reports:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sql = ReportSQL(db.is_sqlite)

    # -- plumbing ----------------------------------------------------------------------------

    async def _scope(self, conn: AsyncConnection, filters: ReportFilters) -> Scope:
        agent_id: int | None = None
        if filters.agent is not None:
            found = await conn.execute(select(Agent.id).where(Agent.username == filters.agent))
            agent_id = found.scalar_one_or_none()
            if agent_id is None:
                raise ReportError(f"agent: there is no agent named {filters.agent!r}")
        return Scope(
            filters.since(),
            filters.until(),
            filters.channel,
            filters.language,
            agent_id,
            filters.reason,
        )

    @staticmethod
    async def _rows(conn: AsyncConnection, query: Executable) -> list[dict[str, Any]]:
        return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def _timings(
        self, conn: AsyncConnection, scope: Scope, key: str | None
    ) -> dict[tuple[Any, str], Mapping[str, Any]]:
        """{(key value, measure): {count, median, p90}}."""
        conv = self.sql.conversations(scope)
        query = self.sql.percentiles(self.sql.handoff_times(scope, conv), key)
        return {(r["key"], r["measure"]): r for r in await self._rows(conn, query)}

    async def _csat(
        self, conn: AsyncConnection, scope: Scope, key: str
    ) -> dict[Any, Mapping[str, Any]]:
        """{key value: {ratings, satisfied}} over the csat ratings in scope."""
        ratings = self.sql.csat(scope, self.sql.conversations(scope))
        column = ratings.c[key]
        query = select(column.label("key"), *self.sql.csat_totals(ratings)).group_by(column)
        return {r["key"]: r for r in await self._rows(conn, query)}

    # -- the summary -------------------------------------------------------------------------

    async def summary(self, filters: ReportFilters) -> dict[str, Any]:
        with storage_errors():
            async with self.db.engine.connect() as conn:
                scope = await self._scope(conn, filters)
                return await self._summary(conn, scope, filters)

    async def _summary(
        self, conn: AsyncConnection, scope: Scope, filters: ReportFilters
    ) -> dict[str, Any]:
        sql = self.sql
        conv = sql.conversations(scope)
        facts = sql.facts(scope, conv)
        totals = (await conn.execute(select(*sql.fact_totals(facts)))).mappings().one()
        conversations = int(totals["conversations"])
        times = sql.handoff_times(scope, conv)
        by_reason = await self._rows(
            conn,
            select(
                times.c.reason,
                func.count().label("count"),
                func.count(times.c.conversation_id.distinct()).label("conversations"),
            ).group_by(times.c.reason),
        )
        people = await self._timings(conn, scope, None)
        ratings = sql.csat(scope, sql.conversations(scope))
        scores = {
            int(r["score"]): int(r["count"])
            for r in await self._rows(
                conn,
                select(ratings.c.score, func.count().label("count")).group_by(ratings.c.score),
            )
        }
        distribution = {str(score): scores.get(score, 0) for score in range(1, 6)}
        responses = sum(distribution.values())
        satisfied = distribution["4"] + distribution["5"]
        feedback = (
            (
                await conn.execute(
                    select(
                        count_if(Rating.score >= 4).label("yes"),
                        count_if(Rating.score <= 2).label("no"),
                    )
                    .join(conv, conv.c.id == Rating.conversation_id)
                    .where(Rating.kind == "answer")
                )
            )
            .mappings()
            .one()
        )
        topics = sql.topics(conv, scope)
        repeat = (
            (
                await conn.execute(
                    select(
                        func.count(topics.c.customer_id.distinct()).label("customers"),
                        func.count(
                            case((sql.is_repeat(topics), topics.c.customer_id)).distinct()
                        ).label("repeated"),
                    )
                )
            )
            .mappings()
            .one()
        )
        replies = int(totals["answered"]) + int(totals["clarified"]) + int(totals["unknown"])
        bot_conversations = int(totals["bot_conversations"])
        return {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "filters": filters.filters_json(),
            "conversations": conversations,
            "customer_messages": int(totals["customer_messages"]),
            "bot": {
                "replies": replies,
                "answered": share(totals["answered"], replies),
                "clarified": share(totals["clarified"], replies),
                "unknown": share(totals["unknown"], replies),
                "containment": share(totals["contained"], bot_conversations),
                "contained": int(totals["contained"]),
                "conversations": bot_conversations,
            },
            "handoffs": {
                "count": int(totals["handoffs"]),
                "rate": share(totals["handed_off"], conversations),
                "by_reason": [
                    {
                        "reason": r["reason"],
                        "count": int(r["count"]),
                        "rate": share(r["conversations"], conversations),
                    }
                    for r in sorted(by_reason, key=lambda r: (-int(r["count"]), r["reason"]))
                ],
            },
            "people": {m: timing(people.get((None, m))) for m in MEASURES},
            "csat": {
                "score": share(satisfied, responses),
                "responses": responses,
                "distribution": distribution,
            },
            "answer_feedback": {"yes": int(feedback["yes"] or 0), "no": int(feedback["no"] or 0)},
            "repeat_contact": {
                "rate": share(repeat["repeated"], repeat["customers"]),
                "customers": int(repeat["customers"]),
                "repeated": int(repeat["repeated"]),
            },
        }

    # -- the tables --------------------------------------------------------------------------

    async def table(self, name: str, filters: ReportFilters) -> dict[str, Any]:
        """{"table", "from", "to", "columns", "rows"}; KeyError for an unknown table."""
        columns = TABLES[name]
        with storage_errors():
            async with self.db.engine.connect() as conn:
                scope = await self._scope(conn, filters)
                rows = await getattr(self, f"_{name}")(conn, scope, filters)
        return {
            "table": name,
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "columns": list(columns),
            "rows": [{column: row.get(column) for column in columns} for row in rows],
        }

    async def _daily(
        self, conn: AsyncConnection, scope: Scope, filters: ReportFilters
    ) -> list[dict[str, Any]]:
        facts = self.sql.facts(scope, self.sql.conversations(scope))
        query = select(facts.c.day, *self.sql.fact_totals(facts)).group_by(facts.c.day)
        found = {iso_day(r["day"]): r for r in await self._rows(conn, query)}
        rows = []
        for day in filters.days():  # every day of the range, with zeros where nothing happened
            r = found.get(day.isoformat(), {})
            rows.append(
                {
                    "date": day.isoformat(),
                    **{
                        k: int(r.get(k) or 0)
                        for k in (
                            "conversations",
                            "customer_messages",
                            "answered",
                            "clarified",
                            "unknown",
                            "handoffs",
                            "contained",
                        )
                    },
                }
            )
        return rows

    async def _reasons(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        times = self.sql.handoff_times(scope, self.sql.conversations(scope))
        counts = {
            r["reason"]: int(r["handoffs"])
            for r in await self._rows(
                conn,
                select(times.c.reason, func.count().label("handoffs")).group_by(times.c.reason),
            )
        }
        csat = await self._csat(conn, scope, "reason")
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
                **self._satisfaction(csat.get(reason)),
            }
            for reason in reasons
        ]

    @staticmethod
    def _satisfaction(row: Mapping[str, Any] | None) -> dict[str, Any]:
        if row is None:
            return {"csat": None, "ratings": 0}
        return {"csat": share(row["satisfied"], row["ratings"]), "ratings": int(row["ratings"])}

    @staticmethod
    def _timing_columns(
        timings: dict[tuple[Any, str], Mapping[str, Any]], key: Any, measures: Iterable[str]
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for measure in measures:
            found = timing(timings.get((key, measure)))
            values[f"{measure}_median"] = found["median"]
            values[f"{measure}_p90"] = found["p90"]
        return values

    async def _agents(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        times = self.sql.handoff_times(scope, self.sql.conversations(scope))
        handled = await self._rows(
            conn,
            select(
                Agent.id,
                Agent.username,
                Agent.display_name,
                func.count().label("handled"),
            )
            .join(times, times.c.agent_id == Agent.id)
            .group_by(Agent.id, Agent.username, Agent.display_name),
        )
        timings = await self._timings(conn, scope, "agent_id")
        csat = await self._csat(conn, scope, "agent_id")
        rows = [
            {
                "agent": r["username"],
                "display_name": r["display_name"],
                "handled": int(r["handled"]),
                **self._timing_columns(timings, r["id"], MEASURES),
                **self._satisfaction(csat.get(r["id"])),
            }
            for r in handled
        ]
        return sorted(rows, key=lambda r: (-r["handled"], r["agent"]))

    async def _groups(
        self, conn: AsyncConnection, scope: Scope, key: str
    ) -> list[tuple[Any, Mapping[str, Any]]]:
        facts = self.sql.facts(scope, self.sql.conversations(scope))
        query = select(facts.c[key].label("key"), *self.sql.fact_totals(facts)).group_by(
            facts.c[key]
        )
        rows = await self._rows(conn, query)
        ordered = sorted(rows, key=lambda r: (-int(r["conversations"]), str(r["key"] or "")))
        return [(r["key"], r) for r in ordered]

    async def _channels(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        groups = await self._groups(conn, scope, "channel")
        timings = await self._timings(conn, scope, "channel")
        csat = await self._csat(conn, scope, "channel")
        return [
            {
                "channel": key,
                "conversations": int(r["conversations"]),
                "containment": share(r["contained"], r["bot_conversations"]),
                "handoffs": int(r["handoffs"]),
                **self._timing_columns(timings, key, ("first_response", "resolution")),
                **self._satisfaction(csat.get(key)),
            }
            for key, r in groups
        ]

    async def _languages(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        groups = await self._groups(conn, scope, "language")
        csat = await self._csat(conn, scope, "language")
        return [
            {
                "language": key,
                "conversations": int(r["conversations"]),
                "containment": share(r["contained"], r["bot_conversations"]),
                "handoffs": int(r["handoffs"]),
                **self._satisfaction(csat.get(key)),
            }
            for key, r in groups
        ]

    async def _ratings(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        ratings = self.sql.csat(scope, self.sql.conversations(scope))
        query = select(ratings.c.score, func.count().label("count")).group_by(ratings.c.score)
        counts = {int(r["score"]): int(r["count"]) for r in await self._rows(conn, query)}
        return [{"score": score, "count": counts.get(score, 0)} for score in range(1, 6)]

    async def _comments(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        query = self.sql.comments(scope, self.sql.conversations(scope), LIST_LIMIT)
        return [
            {**r, "created_at": iso_time(r["created_at"])} for r in await self._rows(conn, query)
        ]

    async def _articles(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        query = self.sql.articles(self.sql.conversations(scope), scope, TOP_ARTICLES)
        return [
            {
                "article_id": r["article_id"],
                "language": r["language"],
                "answers": int(r["answers"]),
                "yes": int(r["yes"]),
                "no": int(r["no"]),
            }
            for r in await self._rows(conn, query)
        ]

    async def _gaps(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        conv = self.sql.conversations(scope)
        query = (
            select(
                GapCluster.id.label("cluster_id"),
                GapCluster.language,
                GapCluster.question.label("label"),
                func.count(Gap.id).label("count"),
                GapCluster.status,
                GapCluster.last_seen,
            )
            .join(Gap, Gap.cluster_id == GapCluster.id)
            .join(conv, conv.c.key == Gap.conversation_key)
            .where(GapCluster.status == "open")
            .group_by(
                GapCluster.id,
                GapCluster.language,
                GapCluster.question,
                GapCluster.status,
                GapCluster.last_seen,
            )
            .order_by(func.count(Gap.id).desc(), GapCluster.id)
            .limit(TOP_GAPS)
        )
        return [
            {**r, "count": int(r["count"]), "last_seen": iso_time(r["last_seen"])}
            for r in await self._rows(conn, query)
        ]

    async def _repeats(
        self, conn: AsyncConnection, scope: Scope, _: ReportFilters
    ) -> list[dict[str, Any]]:
        topics = self.sql.topics(self.sql.conversations(scope), scope)
        gap = self.sql.repeat_gap(topics)
        query = (
            select(
                topics.c.customer_id,
                topics.c.channel,
                topics.c.topic,
                topics.c.prev_conversation_id.label("first_conversation_id"),
                topics.c.conversation_id.label("repeat_conversation_id"),
                (gap / DAY).label("days_between"),
            )
            .where(self.sql.is_repeat(topics))
            .order_by(topics.c.created_at.desc())
            .limit(LIST_LIMIT)
        )
        return [
            {**r, "days_between": round(float(r["days_between"]), 2)}
            for r in await self._rows(conn, query)
        ]
