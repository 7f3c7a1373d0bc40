"""Reports computed in SQL, on SQLite and on PostgreSQL: a scripted month of conversations
(tests/bot/reports_scenario.py) with known timestamps gives exact numbers for the summary and
every table, with and without filters; the range's edges; the filters' validation; migration
0008 copying the knowledge base's outcome out of stored messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from bot.reports.filters import ReportError, parse_filters
from bot.reports.numbers import TABLES, Reports
from bot.storage.db import MIGRATIONS, Database
from bot.storage.models import Message
from bot.storage.repo import Store
from tests.bot.reports_scenario import FROM, TO, Seeded, seed
from tests.conftest import PG_ADMIN_DSN, _drop_postgres_database, _postgres_database

NOVEMBER = parse_filters(FROM, TO)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Reports, Seeded]]:
    """The scripted month in a fresh database of each kind (seeded once per module)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("reports") / "reports.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.migrate()
        yield Reports(db), await seed(db)
        await db.close()
        return
    name = await _postgres_database()
    db = Database(f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}")
    try:
        await db.migrate()
        yield Reports(db), await seed(db)
    finally:
        await db.close()
        await _drop_postgres_database(name)


async def summary(reports: Reports, **filters: str) -> dict[str, Any]:
    return await reports.summary(parse_filters(FROM, TO, **filters))


async def rows(reports: Reports, table: str, **filters: str) -> list[dict[str, Any]]:
    result = await reports.table(table, parse_filters(FROM, TO, **filters))
    assert result["columns"] == list(TABLES[table])
    assert result["from"] == FROM and result["to"] == TO and result["table"] == table
    return list(result["rows"])


def timing(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "median": median, "p90": p90}


async def test_the_summary_of_the_month(seeded):
    reports, _ = seeded
    assert await summary(reports) == {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "filters": {"channel": None, "language": None, "agent": None, "reason": None},
        # c1-c10, c13, c14; not c11 (Oct 31, 23:59:59) nor c12 (Dec 1, 00:00)
        "conversations": 12,
        "customer_messages": 20,
        "bot": {
            "replies": 12,  # 8 answers, 1 clarify, 3 unknown
            "answered": 0.667,
            "clarified": 0.083,
            "unknown": 0.25,
            "containment": 0.455,  # c1, c2, c8, c9, c10 of the 11 the bot replied in
            "contained": 5,
            "conversations": 11,  # c13 never got a reply
        },
        "handoffs": {
            "count": 5,  # c10's withdrawn bot_error handoff is not counted
            "rate": 0.417,
            "by_reason": [
                {"reason": "requested", "count": 2, "rate": 0.167},
                {"reason": "frustration", "count": 1, "rate": 0.083},
                {"reason": "policy", "count": 1, "rate": 0.083},
                {"reason": "unanswered", "count": 1, "rate": 0.083},
            ],
        },
        "people": {
            # 60, 120, 300, 600 s: c7's handoff was never claimed
            "queue_wait": timing(4, 210.0, 510.0),
            "first_response": timing(4, 300.0, 630.0),  # 120, 180, 420, 720 s
            "resolution": timing(3, 1200.0, 2160.0),  # 600, 1200, 2400 s
        },
        "csat": {
            "score": 0.5,
            "responses": 2,
            "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
        },
        "answer_feedback": {"yes": 1, "no": 1},
        # cu1 asked about reset-password again 3 days later; cu2 about track-order 8 days later
        "repeat_contact": {"rate": 0.125, "customers": 8, "repeated": 1},
    }


async def test_daily_has_every_day_of_the_range(seeded):
    reports, _ = seeded
    daily = await rows(reports, "daily")
    assert [r["date"] for r in daily][:2] == ["2026-11-01", "2026-11-02"]
    assert len(daily) == 30 and daily[-1]["date"] == "2026-11-30"
    busy = {r.pop("date"): r for r in daily if r["conversations"]}
    keys = ("conversations", "customer_messages", "answered", "clarified", "unknown")
    expected = {
        "2026-11-10": (2, 4, 2, 1, 0, 0, 2),
        "2026-11-11": (1, 3, 0, 0, 1, 1, 0),
        "2026-11-12": (1, 2, 1, 0, 0, 1, 0),
        "2026-11-13": (2, 2, 2, 0, 0, 0, 1),
        "2026-11-14": (1, 1, 1, 0, 0, 1, 0),
        "2026-11-15": (1, 2, 0, 0, 0, 1, 0),
        "2026-11-16": (1, 2, 1, 0, 0, 0, 1),
        "2026-11-18": (1, 1, 1, 0, 0, 0, 1),
        "2026-11-20": (1, 1, 0, 0, 0, 0, 0),
        "2026-11-21": (1, 2, 0, 0, 2, 1, 0),
    }
    assert busy == {
        day: dict(zip((*keys, "handoffs", "contained"), values, strict=True))
        for day, values in expected.items()
    }


async def test_reasons_agents_channels_and_languages(seeded):
    reports, _ = seeded
    assert await rows(reports, "reasons") == [
        {"reason": "requested", "handoffs": 2, "share": 0.4, "csat": 0.0, "ratings": 1},
        {"reason": "frustration", "handoffs": 1, "share": 0.2, "csat": 1.0, "ratings": 1},
        {"reason": "policy", "handoffs": 1, "share": 0.2, "csat": None, "ratings": 0},
        {"reason": "unanswered", "handoffs": 1, "share": 0.2, "csat": None, "ratings": 0},
    ]
    assert await rows(reports, "agents") == [
        {
            "agent": "alice",
            "display_name": "Alice Agent",
            "handled": 2,
            "queue_wait_median": 90.0,  # 60 and 120 s
            "queue_wait_p90": 114.0,
            "first_response_median": 150.0,  # 120 and 180 s
            "first_response_p90": 174.0,
            "resolution_median": 900.0,  # 600 and 1200 s
            "resolution_p90": 1140.0,
            "csat": 0.0,
            "ratings": 1,
        },
        {
            "agent": "bob",
            "display_name": "Bob Builder",
            "handled": 2,
            "queue_wait_median": 450.0,  # 300 and 600 s
            "queue_wait_p90": 570.0,
            "first_response_median": 570.0,  # 420 and 720 s
            "first_response_p90": 690.0,
            "resolution_median": 2400.0,  # c14 is not resolved yet
            "resolution_p90": 2400.0,
            "csat": 1.0,
            "ratings": 1,
        },
    ]
    assert await rows(reports, "channels") == [
        {
            "channel": "web",
            "conversations": 8,
            "containment": 0.714,  # 5 of the 7 the bot replied in (not c13)
            "handoffs": 1,
            "first_response_median": 120.0,
            "first_response_p90": 120.0,
            "resolution_median": 1200.0,
            "resolution_p90": 1200.0,
            "csat": None,  # c6 was resolved without a survey
            "ratings": 0,
        },
        {
            "channel": "slack",
            "conversations": 2,
            "containment": 0.0,
            "handoffs": 2,
            "first_response_median": 420.0,
            "first_response_p90": 420.0,
            "resolution_median": None,
            "resolution_p90": None,
            "csat": None,
            "ratings": 0,
        },
        {
            "channel": "telegram",
            "conversations": 2,
            "containment": 0.0,
            "handoffs": 2,
            "first_response_median": 450.0,
            "first_response_p90": 666.0,
            "resolution_median": 1500.0,
            "resolution_p90": 2220.0,
            "csat": 0.5,
            "ratings": 2,
        },
    ]
    assert await rows(reports, "languages") == [
        {"language": "en", "conversations": 10, "containment": 0.5, "handoffs": 4, "csat": 0.0,
         "ratings": 1},
        {"language": "de", "conversations": 1, "containment": None, "handoffs": 0, "csat": None,
         "ratings": 0},
        {"language": "fa", "conversations": 1, "containment": 0.0, "handoffs": 1, "csat": 1.0,
         "ratings": 1},
    ]  # fmt: skip


async def test_ratings_comments_articles_gaps_and_repeats(seeded):
    reports, ids = seeded
    assert await rows(reports, "ratings") == [
        {"score": 1, "count": 0},
        {"score": 2, "count": 1},
        {"score": 3, "count": 0},
        {"score": 4, "count": 0},
        {"score": 5, "count": 1},
    ]
    assert await rows(reports, "comments") == [
        {
            "created_at": "2026-11-13T14:01:00+00:00",
            "score": 1,
            "comment": "@wrong article",
            "channel": "web",
            "language": "en",
            "agent": None,
            "reason": None,
            "conversation_id": ids.conversations["c5"],
        },
        {
            "created_at": "2026-11-11T08:12:00+00:00",
            "score": 2,
            "comment": "=1+1 slow and unhelpful",
            "channel": "telegram",
            "language": "en",
            "agent": "alice",
            "reason": "requested",
            "conversation_id": ids.conversations["c3"],
        },
    ]
    assert await rows(reports, "articles") == [
        {"article_id": "reset-password", "language": "en", "answers": 2, "yes": 1, "no": 0},
        {"article_id": "track-order", "language": "en", "answers": 2, "yes": 0, "no": 0},
        {"article_id": "billing-disputes", "language": "en", "answers": 1, "yes": 0, "no": 0},
        {"article_id": "opening-hours", "language": "en", "answers": 1, "yes": 0, "no": 0},
        {"article_id": "refund-policy", "language": "en", "answers": 1, "yes": 0, "no": 1},
        {"article_id": "reset-password", "language": "fa", "answers": 1, "yes": 0, "no": 0},
    ]
    assert await rows(reports, "gaps") == [  # the dismissed cluster is not listed
        {
            "cluster_id": ids.clusters["cancel"],
            "language": "en",
            "label": "cancel my subscription",
            "count": 2,
            "status": "open",
            "last_seen": "2026-11-21T16:01:00+00:00",
        },
        {
            "cluster_id": ids.clusters["mars"],
            "language": "en",
            "label": "do you ship to mars",
            "count": 1,  # c11's gap is in October
            "status": "open",
            "last_seen": "2026-11-11T08:00:00+00:00",
        },
    ]
    assert await rows(reports, "repeats") == [
        {
            "customer_id": ids.customers["cu1"],
            "channel": "web",
            "topic": "article:reset-password",
            "first_conversation_id": ids.conversations["c1"],
            "repeat_conversation_id": ids.conversations["c8"],
            "days_between": 3.0,
        }
    ]


async def test_filters_narrow_every_number(seeded):
    reports, _ = seeded
    telegram = await summary(reports, channel="telegram")
    assert telegram["filters"]["channel"] == "telegram"
    assert (telegram["conversations"], telegram["handoffs"]["count"]) == (2, 2)
    assert telegram["csat"]["responses"] == 2 and telegram["csat"]["score"] == 0.5
    assert telegram["repeat_contact"] == {"rate": 0.0, "customers": 2, "repeated": 0}

    farsi = await summary(reports, language="fa")
    assert (farsi["conversations"], farsi["customer_messages"]) == (1, 2)
    assert farsi["bot"]["containment"] == 0.0 and farsi["csat"]["distribution"]["5"] == 1

    alice = await summary(reports, agent="alice")  # c3 and c6: their handoffs only
    assert alice["conversations"] == 2
    assert alice["handoffs"]["count"] == 2
    assert alice["people"]["queue_wait"] == timing(2, 90.0, 114.0)
    assert alice["csat"] == {
        "score": 0.0,
        "responses": 1,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
    }
    assert [r["agent"] for r in await rows(reports, "agents", agent="alice")] == ["alice"]
    assert [r["conversation_id"] for r in await rows(reports, "comments", agent="alice")] == [
        seeded[1].conversations["c3"]
    ]

    requested = await summary(reports, reason="requested")  # c3 and c7
    assert requested["conversations"] == 2
    assert requested["handoffs"]["by_reason"] == [{"reason": "requested", "count": 2, "rate": 1.0}]
    assert requested["people"]["queue_wait"] == timing(1, 120.0, 120.0)

    nothing = await summary(reports, channel="web", reason="frustration")
    assert nothing["conversations"] == 0
    assert nothing["bot"] == {
        "replies": 0,
        "answered": None,
        "clarified": None,
        "unknown": None,
        "containment": None,
        "contained": 0,
        "conversations": 0,
    }
    assert nothing["people"]["resolution"] == timing(0, None, None)
    assert nothing["csat"]["score"] is None and nothing["repeat_contact"]["rate"] is None


async def test_the_range_is_whole_utc_days(seeded):
    reports, _ = seeded
    october = await reports.summary(parse_filters("2026-10-31", "2026-10-31"))
    assert october["conversations"] == 1  # c11, created at 23:59:59
    assert october["csat"]["distribution"]["1"] == 1
    december = await reports.table("daily", parse_filters("2026-12-01", "2026-12-01"))
    assert december["rows"] == [
        {
            "date": "2026-12-01",
            "conversations": 1,  # c12 at midnight
            "customer_messages": 1,
            "answered": 1,
            "clarified": 0,
            "unknown": 0,
            "handoffs": 0,
            "contained": 1,
        }
    ]
    one_day = await reports.summary(parse_filters("2026-11-13", "2026-11-13"))
    # c8's repeat is of c1, which is outside this day
    assert one_day["repeat_contact"] == {"rate": 0.0, "customers": 2, "repeated": 0}


async def test_an_unknown_agent_is_refused(seeded):
    reports, _ = seeded
    with pytest.raises(ReportError, match="no agent named 'nobody'"):
        await reports.summary(parse_filters(FROM, TO, agent="nobody"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-01"}, "from: '2026-13-01' is not a real date"),
        ({"start": "yesterday"}, "from: expected a date as YYYY-MM-DD"),
        ({"start": "2026-11-01\n"}, "from: expected a date as YYYY-MM-DD"),
        ({"start": "２０２６-11-01"}, "from: expected a date as YYYY-MM-DD"),  # wide digits
        ({"end": "2026-11-31"}, "to: '2026-11-31' is not a real date"),
        ({"start": "2026-11-10", "end": "2026-11-09"}, "to (2026-11-09) is before from"),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "367 days: 366 at most"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "year must be between"),
        ({"reason": "boredom"}, "reason: one of requested, frustration"),
        ({"channel": "Web Chat"}, "'Web Chat' is not a valid channel"),
        ({"language": "english!"}, "not a valid language"),
        ({"agent": "A B"}, "not a valid agent"),
        ({"channel": "web\n"}, "not a valid channel"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(params: dict[str, str], message: str):
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_filters(**params, today=date(2026, 12, 2))


def test_default_range_is_the_last_30_days():
    today = date(2026, 12, 2)
    default = parse_filters(today=today)
    assert (default.start, default.end) == (date(2026, 11, 3), today)
    only_to = parse_filters(end="2026-06-30", today=today)
    assert (only_to.start, only_to.end) == (date(2026, 6, 1), date(2026, 6, 30))
    only_from = parse_filters(start="2026-12-01", today=today)
    assert (only_from.start, only_from.end) == (date(2026, 12, 1), today)
    leap = parse_filters("2024-01-01", "2024-12-31", today=today)  # 366 days: allowed
    assert len(leap.days()) == 366


@pytest.fixture(params=["sqlite", "postgresql"])
async def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'blank.db'}"
        return
    name = await _postgres_database()
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        await _drop_postgres_database(name)


async def migrate_to(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    await asyncio.to_thread(command.upgrade, config, revision)


async def test_migration_0008_copies_the_outcome_of_stored_messages(blank_url: str):
    db = Database(blank_url)
    try:
        await migrate_to(db, "0007_reports")
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO customers (id, channel, external_id, first_seen) "
                    "VALUES (1, 'web', 'x', :at)"
                ),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
            await conn.execute(
                text(
                    "INSERT INTO conversations (id, key, channel, chat_id, customer_id, state, "
                    "awaiting_rating, created_at, updated_at) "
                    "VALUES (1, 'web:x', 'web', 'x', 1, 'bot', false, :at, :at)"
                ),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
            stored = [
                {"decision": "answer", "article": "track-order", "candidates": []},
                {"decision": "clarify", "article": None, "candidates": [{"id": "refunds"}]},
                {"decision": "unknown", "article": None, "candidates": []},
                None,
            ]
            for n, kb in enumerate(stored, 1):
                await conn.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, direction, sender, text, "
                        "status, kb, created_at) VALUES (:id, 1, 'in', 'customer', 'q', "
                        "'processed', :kb, :at)"
                    ),
                    {
                        "id": n,
                        "kb": None if kb is None else json.dumps(kb),
                        "at": datetime(2026, 11, 1, tzinfo=UTC),
                    },
                )
        await migrate_to(db, "head")
        async with db.session() as s:
            rows = (
                await s.execute(
                    select(Message.id, Message.kb_decision, Message.kb_article).order_by(Message.id)
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "answer", "track-order"),
            (2, "clarify", "refunds"),  # the first candidate
            (3, "unknown", None),
            (4, None, None),
        ]
        # from now on the model copies them whenever the bot records its outcome
        await Store(db).annotate(4, "ask_refund", 0.9, kb={"decision": "answer", "article": "a"})
        async with db.session() as s:
            message = await s.get(Message, 4)
            assert message is not None
            assert (message.kb_decision, message.kb_article) == ("answer", "a")
    finally:
        await db.close()
