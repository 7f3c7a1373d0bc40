"""The one place that turns untrusted bytes into JSON: strict UTF-8, bounded nesting, no lone
surrogates or NUL characters in any string. Anything else is a `BadInput` (a clear 400)."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class BadInput(ValueError):
    """Input that cannot be accepted; the message says why, for the client to read."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _depth(text: str) -> int:
    deepest = depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def check_string(value: str, where: str) -> str:
    """`value` unless it holds a NUL or a lone surrogate (which no database or encoder takes)."""
    if "\x00" in value:
        raise BadInput(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        raise BadInput(f"{where} contains an unpaired surrogate (\\u{code:04x})") from None
    return value


def _check(value: Any, where: str) -> None:
    if isinstance(value, str):
        check_string(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_string(key, f"a key in {where}")
            _check(item, f"{where}.{key}" if where != "the body" else f"'{key}'")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]")


def loads(raw: bytes | str, what: str = "the body") -> Any:
    """Parse untrusted JSON; raises BadInput naming what is wrong."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    if _depth(text) > MAX_DEPTH:
        raise BadInput(f"{what} is nested more than {MAX_DEPTH} levels deep")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise BadInput(f"{what} is nested too deeply") from None
    _check(data, what)
    return data


def loads_object(raw: bytes | str, what: str = "the body") -> dict[str, Any]:
    """Like `loads`, for input that must be a JSON object."""
    data = loads(raw, what)
    if not isinstance(data, dict):
        raise BadInput(f"{what} must be a JSON object")
    return data
