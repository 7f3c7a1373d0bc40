"""Who the customer is, as the shop's page tells the widget: a name, an e-mail and custom
attributes (plan, order number, the page's URL). Unverified: the page says so, nobody signed it.

Strict on purpose: at most 20 attributes, keys of 1-40 lowercase letters, digits or `_`,
values strings of at most 200 characters, an e-mail that looks like one. Anything else is a
`BadInput` naming the field (a 400, or an error frame on the socket)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.emails import MAX_EMAIL, is_email
from bot.safe_json import BadInput, check_string

MAX_ATTRIBUTES = 20
MAX_VALUE = 200
MAX_NAME = 255
KEY = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class PageIdentity:
    """What the page says; `None` where it said nothing."""

    name: str | None = None
    email: str | None = None
    attributes: dict[str, str] | None = None

    def over(self, older: PageIdentity) -> PageIdentity:
        """This identity, with what it leaves out taken from `older` (attributes merged)."""
        attributes = {**(older.attributes or {}), **(self.attributes or {})} or None
        if attributes and len(attributes) > MAX_ATTRIBUTES:
            raise BadInput(f"'attributes' may hold at most {MAX_ATTRIBUTES} entries in all")
        return PageIdentity(self.name or older.name, self.email or older.email, attributes)


def _text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(f"'{key}' must be a string")
    value = check_string(value, f"'{key}'").strip()
    if len(value) > limit:
        raise BadInput(f"'{key}' must be at most {limit} characters")
    return value or None


def email(data: dict[str, Any]) -> str | None:
    value = _text(data, "email", MAX_EMAIL)
    if value is not None and not is_email(value):
        raise BadInput("'email' does not look like an e-mail address (name@example.com)")
    return value


def attributes(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput("'attributes' must be a JSON object of string values")
    if len(value) > MAX_ATTRIBUTES:
        raise BadInput(f"'attributes' may hold at most {MAX_ATTRIBUTES} entries")
    checked: dict[str, str] = {}
    for key, item in value.items():
        if not KEY.match(key):
            shown = key[:40] + ("…" if len(key) > 40 else "")
            raise BadInput(f"attribute key {shown!r} must be 1-40 lowercase letters, digits or _")
        if not isinstance(item, str):
            raise BadInput(f"attribute {key!r} must be a string")
        if len(item) > MAX_VALUE:
            raise BadInput(f"attribute {key!r} must be at most {MAX_VALUE} characters")
        checked[key] = check_string(item, f"attribute {key!r}")
    return checked or None


def page_identity(data: dict[str, Any]) -> PageIdentity:
    """The `name`, `email` and `attributes` of a request body or a frame (all optional)."""
    return PageIdentity(
        name=_text(data, "name", MAX_NAME),
        email=email(data),
        attributes=attributes(data.get("attributes")),
    )
