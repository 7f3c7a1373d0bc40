"""Neutral outgoing messages as Telegram messages: HTML, buttons as inline keyboards.

Replies are sent with `parse_mode=HTML`, built by escaping the whole text first and then
turning the knowledge base's `**bold**` into `<b>`: the only tags Telegram ever sees are ours,
so a customer's or agent's `<b>` or `<a href>` shows literally and can't inject markup.

Telegram limits a button's `callback_data` to 64 bytes. A payload that fits is sent as is; a
longer one (or one that looks like a key) is sent as a short key, `#` + a hash of the payload,
and found again among the buttons stored with the conversation when it is pressed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import OutgoingMessage

CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
TEXT_LIMIT = 4096  # characters, Telegram's limit for a message's text
KEY_PREFIX = "#"
CHOOSE = "Please choose:"  # Telegram needs text under a keyboard
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


def to_html(text: str) -> str:
    """Telegram HTML for a reply: everything escaped, then `**bold**` as `<b>bold</b>`."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def callback_data(payload: str) -> str:
    """What a button carries: the payload itself when it fits, else a short stable key."""
    if len(payload.encode()) <= CALLBACK_LIMIT and not payload.startswith(KEY_PREFIX):
        return payload
    digest = hashlib.sha256(payload.encode()).digest()[:18]
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).decode()


def is_key(data: str) -> bool:
    return data.startswith(KEY_PREFIX)


def find_payload(data: str, candidates: Iterable[str]) -> str | None:
    """The payload among `candidates` that a pressed button's key stands for."""
    return next((p for p in candidates if callback_data(p) == data), None)


@dataclass(frozen=True)
class TelegramText:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def _chunks(text: str) -> list[str]:
    return [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)]


def render(message: OutgoingMessage) -> Iterator[TelegramText]:
    """One or more Telegram messages (long text is split); the keyboard goes on the last."""
    keyboard = None
    if message.buttons:
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.title or b.payload, callback_data=callback_data(b.payload))]
                for b in message.buttons
            ]
        )
    text = message.text if message.text.strip() else (CHOOSE if keyboard else "")
    if not text:
        return  # e.g. a custom payload with nothing to show
    chunks = [to_html(chunk) for chunk in _chunks(text)]  # split first: tags stay whole
    for chunk in chunks[:-1]:
        yield TelegramText(chunk)
    yield TelegramText(chunks[-1], keyboard)
