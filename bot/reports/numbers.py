"""Reports: is the bot helping, how fast do people answer, how happy are customers.

`Reports(db)` computes every number in SQL (`bot.reports.sql`) for `ReportFilters`
(`bot.reports.filters`): `summary()` here and the tables (`table(name)`: daily, reasons,
agents, channels, languages, ratings, comments, articles, gaps, repeats) in
`bot.reports.tables`. Python only shapes the few grouped rows each query returns; a report's
independent queries run at the same time, each on its own connection (three at most, for all
reports together). The definitions of the numbers are in the README ("Reports") and, briefly,
here:

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

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.reports.filters import ReportError, ReportFilters
from bot.reports.sql import MEASURES, ReportSQL, Scope, count_if
from bot.reports.tables import TABLES, ReportTables
from bot.reports.values import Rows, share, timing
from bot.storage.db import Database, storage_errors
from bot.storage.models import Agent, Rating

WORK_MEM = "64MB"  # PostgreSQL: sorts for medians and repeat contacts stay in memory
# report queries running at once (on their own connections), whatever the number of reports
# asked for: the rest of the connection pool stays free for customers' and agents' requests
CONNECTIONS = 3


__all__ = ["TABLES", "ReportError", "ReportFilters", "Reports"]


class Reports:
    def __init__(self, db: Database, connections: int = CONNECTIONS) -> None:
        self.db = db
        self.sql = ReportSQL(db.is_sqlite)
        self._slots = asyncio.Semaphore(connections)
        self.tables = ReportTables(self.sql, self.fetch)

    # -- plumbing ----------------------------------------------------------------------------

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction. On PostgreSQL without JIT compilation (these queries' cost
        estimates switch it on, and compiling takes seconds longer than running them) and
        with enough memory for the sorts."""
        async with self.db.engine.connect() as conn:
            if not self.sql.sqlite:
                await conn.execute(text("SET LOCAL jit = off"))
                await conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
                # the covering index beats reading the table (SSDs: random reads are cheap)
                await conn.execute(text("SET LOCAL random_page_cost = 1.1"))
                # a report's queries already run side by side; a parallel plan here builds the
                # same hash table in every worker
                await conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            yield conn

    async def fetch(self, query: Executable) -> Rows:
        """The rows of one query, on a connection of its own (queries run side by side, at
        most `connections` at a time)."""
        async with self._slots, self._connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def _all(self, *queries: Executable) -> list[Rows]:
        return list(await asyncio.gather(*(self.fetch(q) for q in queries)))

    async def scope(self, filters: ReportFilters) -> Scope:
        """The filters as SQL sees them (the agent's id); ReportError for an unknown agent."""
        agent_id: int | None = None
        if filters.agent is not None:
            found = await self.fetch(select(Agent.id).where(Agent.username == filters.agent))
            if not found:
                raise ReportError(f"agent: there is no agent named {filters.agent!r}")
            agent_id = int(found[0]["id"])
        return Scope(
            filters.since(),
            filters.until(),
            filters.channel,
            filters.language,
            agent_id,
            filters.reason,
        )

    # -- the summary -------------------------------------------------------------------------

    async def summary(self, filters: ReportFilters) -> dict[str, Any]:
        with storage_errors():
            scope = await self.scope(filters)
            return await self._summary(scope, filters)

    async def _summary(self, scope: Scope, filters: ReportFilters) -> dict[str, Any]:
        sql = self.sql
        conv = sql.conversations(scope)
        times = sql.handoff_times(scope, conv)
        ratings = sql.csat(scope, conv)
        # the slowest first: the others share the remaining connections meanwhile
        [repeat], [totals], by_reason, people, scores, [feedback] = await self._all(
            sql.repeat_totals(sql.topics(conv, scope)),
            select(*sql.fact_totals(sql.facts(scope, conv))),
            select(
                times.c.reason,
                func.count().label("count"),
                func.count(times.c.conversation_id.distinct()).label("conversations"),
            ).group_by(times.c.reason),
            sql.percentiles(times, None),
            select(ratings.c.score, func.count().label("count")).group_by(ratings.c.score),
            select(
                count_if(Rating.score >= 4).label("yes"),
                count_if(Rating.score <= 2).label("no"),
            )
            .join(conv, conv.c.id == Rating.conversation_id)
            .where(Rating.kind == "answer"),
        )
        conversations = int(totals["conversations"])
        counts = {int(r["score"]): int(r["count"]) for r in scores}
        distribution = {str(score): counts.get(score, 0) for score in range(1, 6)}
        responses = sum(distribution.values())
        replies = int(totals["answered"]) + int(totals["clarified"]) + int(totals["unknown"])
        bot_conversations = int(totals["bot_conversations"])
        timings = {r["measure"]: r for r in people}
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
            "people": {m: timing(timings.get(m)) for m in MEASURES},
            "csat": {
                "score": share(distribution["4"] + distribution["5"], responses),
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
        with storage_errors():
            columns, build = self.tables.builder(name)
            scope = await self.scope(filters)
            rows = await build(scope, filters)
        return {
            "table": name,
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "columns": list(columns),
            "rows": [{column: row.get(column) for column in columns} for row in rows],
        }
