"""The shape of a Telegram update, checked before python-telegram-bot parses a webhook body.

PTB trusts the Bot API and checks no types, so a forged or broken update (a message without a
chat, a number where text belongs) would otherwise fail deep inside the handlers. Only the
fields the channel reads are checked; anything else is left to PTB.
"""

from __future__ import annotations

from typing import Any

from bot.safe_json import BadInput

# field -> (str | int | bool | nested shape | [shape] for a list of them, required)
Shape = dict[str, tuple[Any, bool]]

USER: Shape = {
    "id": (int, True),
    "is_bot": (bool, True),
    "first_name": (str, True),
    "last_name": (str, False),
    "username": (str, False),
    "language_code": (str, False),
}
CHAT: Shape = {"id": (int, True), "type": (str, True)}
BUTTON: Shape = {"text": (str, True), "callback_data": (str, False)}
KEYBOARD: Shape = {"inline_keyboard": ([[BUTTON]], True)}
MESSAGE: Shape = {
    "message_id": (int, True),
    "date": (int, True),
    "chat": (CHAT, True),
    "from": (USER, False),
    "text": (str, False),
    "caption": (str, False),
    "reply_markup": (KEYBOARD, False),
}
CALLBACK: Shape = {
    "id": (str, True),
    "from": (USER, True),
    "message": (MESSAGE, False),
    "data": (str, False),
}
UPDATE: Shape = {
    "update_id": (int, True),
    "message": (MESSAGE, False),
    "edited_message": (MESSAGE, False),
    "callback_query": (CALLBACK, False),
}
NAMES = {int: "an integer", str: "a string", bool: "true or false"}


def _check(value: Any, kind: Any, where: str) -> None:
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            raise BadInput(f"{where} must be an object")
        for name, (inner, required) in kind.items():
            if value.get(name) is None:
                if required:
                    raise BadInput(f"{where}.{name} is missing")
                continue
            _check(value[name], inner, f"{where}.{name}")
    elif isinstance(kind, list):
        if not isinstance(value, list):
            raise BadInput(f"{where} must be a list")
        for i, item in enumerate(value):
            _check(item, kind[0], f"{where}[{i}]")
    elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadInput(f"{where} must be {NAMES[kind]}")


def check_update(data: dict[str, Any]) -> None:
    """Raise BadInput naming the first field that is missing or of the wrong type."""
    _check(data, UPDATE, "update")
