"""Report tables as CSV: a header row of the columns, then one line per row (RFC 4180, CRLF).

Text cells that a spreadsheet would read as a formula - starting with = + - @, a tab or a
carriage return - get a leading ' (OWASP's advice against CSV injection): a customer's comment
"=HYPERLINK(...)" stays text. Numbers are written as they are; empty cells are None."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return out.getvalue()


def filename(table: str, start: str, end: str) -> str:
    return f"{table}-{start}-{end}.csv"
