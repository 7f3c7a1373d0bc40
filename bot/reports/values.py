"""How report numbers are shaped for JSON: shares and seconds rounded, dates and times as ISO
8601 (UTC), a missing ratio as None."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

DIGITS = 3  # seconds and shares are rounded to this many decimals

Rows = list[dict[str, Any]]


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


def satisfaction(row: Mapping[str, Any] | None) -> dict[str, Any]:
    """{"csat", "ratings"} of a csat_totals row."""
    if row is None:
        return {"csat": None, "ratings": 0}
    return {"csat": share(row["satisfied"], row["ratings"]), "ratings": int(row["ratings"])}
