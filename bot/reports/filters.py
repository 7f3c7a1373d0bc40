"""The reports' filters, read from query parameters and checked: every problem is a
`ReportError` with a message that names the parameter (the API answers 400 with it)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.console.auth import USERNAME
from bot.handoff.handoffs import REASONS

DEFAULT_DAYS = 30
MAX_DAYS = 366
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CHANNEL = re.compile(r"^[a-z0-9_\-]+$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class ReportError(ValueError):
    """Bad report parameters."""


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers: conversations created from `start` to `end` (inclusive days,
    UTC), optionally on one channel, in one language, with a handoff claimed by one agent
    (username) and/or handed off for one reason."""

    start: date
    end: date
    channel: str | None = None
    language: str | None = None
    agent: str | None = None
    reason: str | None = None

    def since(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    def until(self) -> datetime:
        """The first moment after the range (midnight UTC after `end`)."""
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC) + timedelta(1)

    def days(self) -> list[date]:
        return [self.start + timedelta(n) for n in range((self.end - self.start).days + 1)]

    def filters_json(self) -> dict[str, Any]:
        values = asdict(self)
        return {k: values[k] for k in ("channel", "language", "agent", "reason")}


def _date(name: str, value: str) -> date:
    if not DATE.fullmatch(value):
        raise ReportError(f"{name}: expected a date as YYYY-MM-DD, got {value[:40]!r}")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{name}: {value!r} is not a real date") from None
    if not 1970 <= day.year <= 9000:
        raise ReportError(f"{name}: the year must be between 1970 and 9000")
    return day


def _text(name: str, value: str | None, pattern: re.Pattern[str], limit: int) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > limit or not pattern.fullmatch(value):
        raise ReportError(f"{name}: {value[:40]!r} is not a valid {name}")
    return value


def parse_filters(
    start: str | None = None,
    end: str | None = None,
    channel: str | None = None,
    language: str | None = None,
    agent: str | None = None,
    reason: str | None = None,
    today: date | None = None,
) -> ReportFilters:
    """Filters from query parameters; without dates, the last 30 days ending today (UTC).
    Only `to`: the 30 days ending then; only `from`: from then to today."""
    today = today or datetime.now(UTC).date()
    last = _date("to", end) if end else today
    first = _date("from", start) if start else last - timedelta(DEFAULT_DAYS - 1)
    if last < first:
        raise ReportError(f"to ({last}) is before from ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportError(f"the range is {(last - first).days + 1} days: {MAX_DAYS} at most")
    if reason not in (None, "") and reason not in REASONS:
        raise ReportError(f"reason: one of {', '.join(REASONS)}")
    return ReportFilters(
        first,
        last,
        channel=_text("channel", channel, CHANNEL, 32),
        language=_text("language", language, LANGUAGE, 16),
        agent=_text("agent", agent, USERNAME, 64),
        reason=reason or None,
    )
