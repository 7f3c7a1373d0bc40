"""Reports benchmark: how long do the reports take over 100,000 conversations / 1,000,000
messages, on PostgreSQL and on SQLite?

Seeds a year of synthetic support (365 days ending 2026-11-30; deterministic, `--seed`) into a
fresh PostgreSQL database (`reports_bench`, created from `--pg-admin` and dropped at the end
unless `--keep`) with COPY, and into a SQLite file in a temp dir with multi-row inserts, both
migrated by the hub's own Alembic migrations first. Per conversation: 10 messages (customer
turns carry the knowledge base's decision - answer 65 %, clarify 10 %, unknown 25 % - over 60
articles and 4 languages on 3 channels); 20 % are handed off (5 reasons, 12 agents; most
claimed and resolved, with agent messages), csat ratings for 60 % of the resolved, "did this
answer?" ratings, comments after low scores, a gap (500 clusters) for every unknown. 40,000
customers, so some come back.

Then `Reports` (bot/reports/numbers.py), the hub's code, times - after one warm-up run - `--runs`
runs each of: the summary over the whole year (all 1,000,000 messages), over the last 30 days,
and over the year with each filter (channel, language, agent, reason), and every table over
the year. Writes bench/results/reports.json: per database the seed time and, per case, the
p50 / p95 / max in seconds. Not a test: `make test` does not run it.

    .venv/bin/python bench/reports.py                # both databases
    .venv/bin/python bench/reports.py --only postgresql --keep
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.reports.filters import ReportFilters, parse_filters  # noqa: E402
from bot.reports.numbers import TABLES, Reports  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import kb_columns  # noqa: E402

END = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(days=1)
DAYS = 365
CHANNELS = (("web", 0.6), ("telegram", 0.3), ("slack", 0.1))
LANGUAGES = (("en", 0.6), ("fa", 0.2), ("sr", 0.1), ("de", 0.1))
REASONS = (("requested", 0.5), ("frustration", 0.2), ("unanswered", 0.2), ("policy", 0.1))
ARTICLES = [f"article-{n:02d}" for n in range(60)]
AGENTS = [f"agent{n:02d}" for n in range(12)]
CLUSTERS = 500
CHUNK = 5_000  # conversations generated and written at a time
TABLE_ORDER = ("customers", "conversations", "messages", "handoffs", "ratings", "gaps")
COLUMNS = {
    "customers": ("id", "channel", "external_id", "language", "first_seen"),
    "conversations": (
        "id",
        "key",
        "channel",
        "chat_id",
        "customer_id",
        "state",
        "awaiting_rating",
        "language",
        "created_at",
        "updated_at",
    ),
    "messages": (
        "id",
        "conversation_id",
        "direction",
        "sender",
        "text",
        "status",
        "kb",
        "kb_decision",
        "kb_article",
        "created_at",
    ),
    "handoffs": (
        "id",
        "conversation_id",
        "reason",
        "status",
        "agent_id",
        "frustration",
        "survey_skipped",
        "created_at",
        "claimed_at",
        "resolved_at",
    ),
    "ratings": (
        "id",
        "conversation_id",
        "handoff_id",
        "kind",
        "score",
        "comment",
        "message_id",
        "article_id",
        "created_at",
    ),
    "gaps": (
        "id",
        "question",
        "conversation_key",
        "language",
        "reason",
        "candidates",
        "created_at",
        "message_id",
        "cluster_id",
    ),
}

COLUMNS["agents"] = (
    "id",
    "username",
    "display_name",
    "password_hash",
    "role",
    "disabled",
    "created_at",
)
COLUMNS["gap_clusters"] = (
    "id",
    "language",
    "status",
    "count",
    "question",
    "centroid",
    "model",
    "first_seen",
    "last_seen",
)


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


@dataclass
class Batch:
    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in TABLE_ORDER}
    )


class Generator:
    """Deterministic synthetic support data, CHUNK conversations at a time."""

    def __init__(self, conversations: int, customers: int, seed: int) -> None:
        self.conversations = conversations
        self.customers = customers
        self.rng = random.Random(seed)
        self.ids = {name: 0 for name in TABLE_ORDER}
        self.customer_of: dict[int, tuple[str, str]] = {}  # id -> (channel, language)
        self.start = END - timedelta(days=DAYS)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def customer_rows(self) -> list[tuple[Any, ...]]:
        rows = []
        for n in range(1, self.customers + 1):
            channel, language = pick(self.rng, CHANNELS), pick(self.rng, LANGUAGES)
            self.customer_of[n] = (channel, language)
            rows.append((n, channel, f"c{n}", language, self.start))
        return rows

    def batches(self) -> Iterator[Batch]:
        made = 0
        while made < self.conversations:
            batch = Batch()
            for _ in range(min(CHUNK, self.conversations - made)):
                self.conversation(batch)
                made += 1
            yield batch

    def kb(self, article: str) -> tuple[tuple[str, str | None], str]:
        """(the `kb` JSON, its kb_article) and the decision of one customer message."""
        roll = self.rng.random()
        others = self.rng.sample(ARTICLES, 2)
        candidates = [
            {"id": a, "title": a.replace("-", " "), "score": round(0.9 - 0.1 * i, 2)}
            for i, a in enumerate([article, *others])
        ]
        if roll < 0.65:
            kb = {"decision": "answer", "article": article, "candidates": candidates}
        elif roll < 0.75:
            kb = {"decision": "clarify", "article": None, "candidates": candidates}
        else:
            kb = {"decision": "unknown", "article": None, "candidates": []}
        return (json.dumps(kb), kb_columns(kb)[1]), str(kb["decision"])

    def message(
        self,
        batch: Batch,
        cid: int,
        sender: str,
        status: str,
        at: datetime,
        kb: str | None = None,
        decision: str | None = None,
        article: str | None = None,
    ) -> int:
        mid = self.next_id("messages")
        direction = "in" if sender == "customer" else "out"
        row = (mid, cid, direction, sender, f"{sender} text", status, kb, decision, article, at)
        batch.rows["messages"].append(row)
        return mid

    def conversation(self, batch: Batch) -> None:
        rng = self.rng
        rows = batch.rows
        cid = self.next_id("conversations")
        customer = rng.randint(1, self.customers)
        channel, language = self.customer_of[customer]
        created = self.start + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 7200))
        key = f"{channel}:{cid}"
        rows["conversations"].append(
            (cid, key, channel, str(cid), customer, "bot", False, language, created, created)
        )
        handed = rng.random() < 0.2
        # a customer's favourite topic: repeats happen when they come back
        article = ARTICLES[(customer * 7 + rng.randint(0, 2)) % len(ARTICLES)]
        t = created
        answered_message: int | None = None
        turns = 2 if handed else 5
        for _ in range(turns):
            (kb, kb_article), decision = self.kb(article)
            mid = self.message(batch, cid, "customer", "processed", t, kb, decision, kb_article)
            if decision == "answer":
                answered_message = mid
            if decision == "unknown":
                rows["gaps"].append(
                    (
                        self.next_id("gaps"),
                        "a question",
                        key,
                        language,
                        "unknown",
                        "[]",
                        t,
                        mid,
                        rng.randint(1, CLUSTERS),
                    )
                )
            t += timedelta(seconds=1)
            self.message(batch, cid, "bot", "sent", t)
            t += timedelta(seconds=rng.uniform(20, 300))
        if answered_message and rng.random() < 0.1:
            score = 5 if rng.random() < 0.8 else 1
            comment = "=not what I asked" if score == 1 and rng.random() < 0.5 else None
            rows["ratings"].append(
                (
                    self.next_id("ratings"),
                    cid,
                    None,
                    "answer",
                    score,
                    comment,
                    answered_message,
                    article,
                    t,
                )
            )
        if handed:
            self.handoff(batch, cid, t)

    def handoff(self, batch: Batch, cid: int, queued: datetime) -> None:
        rng = self.rng
        rows = batch.rows
        hid = self.next_id("handoffs")
        agent = rng.randint(1, len(AGENTS))
        claimed = (
            queued + timedelta(seconds=rng.expovariate(1 / 120)) if rng.random() < 0.9 else None
        )
        t = queued
        self.message(batch, cid, "system", "sent", t)
        resolved = None
        if claimed:
            t = claimed
            for n in range(5):  # agent, customer, agent, customer, agent
                t += timedelta(seconds=rng.expovariate(1 / 60))
                sender = "customer" if n % 2 else "agent"
                self.message(batch, cid, sender, "sent", t)
            if rng.random() < 0.85:
                resolved = t + timedelta(seconds=rng.expovariate(1 / 300))
        else:  # still waiting: five more customer messages
            for _ in range(5):
                t += timedelta(seconds=30)
                self.message(batch, cid, "customer", "to_agent", t)
        status = "resolved" if resolved else "claimed" if claimed else "queued"
        skipped = resolved is not None and rng.random() < 0.05
        rows["handoffs"].append(
            (
                hid,
                cid,
                pick(rng, REASONS),
                status,
                agent if claimed else None,
                0.0,
                skipped,
                queued,
                claimed,
                resolved,
            )
        )
        if resolved and not skipped and rng.random() < 0.6:
            score = rng.choices([1, 2, 3, 4, 5], [0.05, 0.07, 0.1, 0.28, 0.5])[0]
            comment = "slow" if score <= 2 and rng.random() < 0.5 else None
            rows["ratings"].append(
                (
                    self.next_id("ratings"),
                    cid,
                    hid,
                    "csat",
                    score,
                    comment,
                    None,
                    None,
                    resolved + timedelta(seconds=30),
                )
            )


# -- writers ---------------------------------------------------------------------------------


class PostgresWriter:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None

    async def open(self) -> None:
        self.conn = await asyncpg.connect(self.dsn)

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        assert self.conn is not None
        if rows:
            await self.conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])

    async def finish(self) -> None:
        assert self.conn is not None
        for table in TABLE_ORDER + ("agents", "gap_clusters"):
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        # as autovacuum leaves a table at rest: statistics, and the visibility map that lets
        # index-only scans skip the table
        await self.conn.execute("VACUUM ANALYZE")
        await self.conn.execute("CHECKPOINT")  # the seed's writes are not flushed while timing
        await self.conn.close()


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLAlchemy's SQLite format for DateTime columns
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA synchronous=OFF")

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        assert self.conn is not None
        columns = COLUMNS[table]
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(sqlite_value(v) for v in row) for row in rows],
        )

    async def finish(self) -> None:
        assert self.conn is not None
        self.conn.commit()
        self.conn.execute("ANALYZE")
        self.conn.close()


async def seed(writer: PostgresWriter | SqliteWriter, args: argparse.Namespace) -> dict[str, Any]:
    gen = Generator(args.conversations, args.customers, args.seed)
    started = time.perf_counter()
    await writer.open()
    await writer.write("customers", gen.customer_rows())
    await write_fixed(writer)
    counts = {name: 0 for name in TABLE_ORDER}
    for batch in gen.batches():
        for table in TABLE_ORDER:
            await writer.write(table, batch.rows[table])
            counts[table] += len(batch.rows[table])
        done = gen.ids["conversations"]
        elapsed = time.perf_counter() - started
        print(
            f"\r  {done:>7,} / {args.conversations:,} conversations, "
            f"{counts['messages']:>9,} messages, {elapsed:6.1f} s",
            end="",
            flush=True,
        )
    await writer.finish()
    print()
    counts["customers"] = args.customers
    return {"rows": counts, "seconds": round(time.perf_counter() - started, 1)}


async def write_fixed(writer: PostgresWriter | SqliteWriter) -> None:
    """Agents and gap clusters, written as plain rows (no password: nobody logs in)."""
    now = END
    agents = [(n, name, name.title(), "-", "agent", False, now) for n, name in enumerate(AGENTS, 1)]
    clusters = [
        (
            n,
            "en",
            "open" if n % 5 else "dismissed",
            n % 40,
            f"question {n}",
            b"\0",
            "bench",
            now,
            now,
        )
        for n in range(1, CLUSTERS + 1)
    ]
    await writer.write("agents", agents)
    await writer.write("gap_clusters", clusters)


# -- timing ----------------------------------------------------------------------------------


def cases() -> list[tuple[str, str, ReportFilters]]:
    year = ("2025-12-01", "2026-11-30")
    month = ("2026-11-01", "2026-11-30")
    listed = [
        ("summary", "year", parse_filters(*year)),
        ("summary", "30 days", parse_filters(*month)),
        ("summary", "year, channel=telegram", parse_filters(*year, channel="telegram")),
        ("summary", "year, language=fa", parse_filters(*year, language="fa")),
        ("summary", "year, agent=agent03", parse_filters(*year, agent="agent03")),
        ("summary", "year, reason=requested", parse_filters(*year, reason="requested")),
    ]
    listed += [(table, "year", parse_filters(*year)) for table in TABLES]
    return listed


async def measure(db: Database, runs: int, only: str | None) -> dict[str, Any]:
    reports = Reports(db)
    results: dict[str, Any] = {}
    for name, label, filters in cases():
        if only and name not in only.split(","):
            continue

        async def once(name: str = name, filters: ReportFilters = filters) -> Any:
            if name == "summary":
                return await reports.summary(filters)
            return await reports.table(name, filters)

        first = await once()  # warm-up: caches, compiled statements
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await once()
            times.append(time.perf_counter() - started)
        key = f"{name} ({label})"
        results[key] = {
            "p50": round(float(np.percentile(times, 50)), 3),
            "p95": round(float(np.percentile(times, 95)), 3),
            "max": round(max(times), 3),
            "runs": runs,
        }
        if name == "summary" and label == "year":
            results[key]["numbers"] = {
                "conversations": first["conversations"],
                "customer_messages": first["customer_messages"],
                "containment": first["bot"]["containment"],
                "handoffs": first["handoffs"]["count"],
                "csat": first["csat"]["score"],
                "first_response_median": first["people"]["first_response"]["median"],
                "repeat_contact": first["repeat_contact"]["rate"],
            }
        print(f"  {key:<42} p50 {results[key]['p50']:7.3f} s  p95 {results[key]['p95']:7.3f} s")
    return results


async def run_postgres(args: argparse.Namespace) -> dict[str, Any]:
    base = args.pg_admin.rsplit("/", 1)[0]
    admin = await asyncpg.connect(args.pg_admin)
    try:
        if not args.reuse:
            await admin.execute(f'DROP DATABASE IF EXISTS "{args.pg_name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{args.pg_name}"')
    finally:
        await admin.close()
    db = Database(f"{base}/{args.pg_name}")
    out: dict[str, Any] = {}
    try:
        if not args.reuse:
            await db.migrate()
            print(f"PostgreSQL: seeding {args.pg_name}")
            out["seed"] = await seed(PostgresWriter(f"{base}/{args.pg_name}"), args)
        print("PostgreSQL: timing")
        out["timings"] = await measure(db, args.runs, args.tables)
        async with db.engine.connect() as conn:
            from sqlalchemy import text

            out["server"] = (await conn.execute(text("SHOW server_version"))).scalar()
    finally:
        await db.close()
        if not args.keep:
            admin = await asyncpg.connect(args.pg_admin)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{args.pg_name}" WITH (FORCE)')
            finally:
                await admin.close()
    return out


async def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.sqlite_dir or tempfile.mkdtemp(prefix="reports-bench-"))
    path = folder / "reports.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    out: dict[str, Any] = {}
    try:
        if not (args.reuse and path.exists()):
            path.unlink(missing_ok=True)
            await db.migrate()
            print(f"SQLite: seeding {path}")
            out["seed"] = await seed(SqliteWriter(path), args)
        print("SQLite: timing")
        out["timings"] = await measure(db, args.runs, args.tables)
        out["file_mb"] = round(path.stat().st_size / 1e6, 1)
        out["version"] = sqlite3.sqlite_version
    finally:
        await db.close()
        if not args.keep and not args.sqlite_dir:
            await asyncio.to_thread(shutil.rmtree, folder)
    return out


def earlier(path: Path) -> dict[str, Any]:
    """The per-database results already in `path` (none if it does not exist)."""
    if not path.exists():
        return {}
    kept = json.loads(path.read_text())
    return {k: v for k, v in kept.items() if k in ("postgresql", "sqlite")}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    parser.add_argument("--tables", help="comma-separated cases to time (summary, daily, ...)")
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--pg-name", default="reports_bench")
    parser.add_argument("--sqlite-dir", help="keep the SQLite file here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--reuse", action="store_true", help="time kept databases, no seeding")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "reports.json"))
    args = parser.parse_args()
    result: dict[str, Any] = {
        "conversations": args.conversations,
        "customers": args.customers,
        "runs": args.runs,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.only:  # one database again: keep the other's figures
        result.update(earlier(Path(args.out)))
    for name, run in (("postgresql", run_postgres), ("sqlite", run_sqlite)):
        if args.only in (None, name):
            before = [round(x, 2) for x in os.getloadavg()]
            result[name] = await run(args)
            # the machine is shared: how busy it was while this database was timed
            result[name]["load_average"] = {
                "start": before,
                "end": [round(x, 2) for x in os.getloadavg()],
            }
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.tables:
        await asyncio.to_thread(Path(args.out).write_text, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
