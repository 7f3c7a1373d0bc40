"""Small helpers shared by the actions."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker

from bot import messages
from bot.knowledge.gap_signals import GapSignals

log = logging.getLogger(__name__)


def human_button(language: str | None) -> dict[str, str]:
    """The "Talk to a person" button, titled in the customer's language, as Rasa takes it."""
    return messages.human_button(language).to_dict()


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = (tracker.latest_message or {}).get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def language(tracker: Tracker) -> str | None:
    lang = metadata(tracker).get("language")
    return str(lang) if lang else None


def last_question(tracker: Tracker, skip_latest: bool) -> str | None:
    """The newest customer text, or the one before it (e.g. before "no, that didn't help")."""
    texts = [
        e.get("text")
        for e in tracker.events
        if e.get("event") == "user" and e.get("text") and not str(e.get("text")).startswith("/")
    ]
    if skip_latest and texts:
        texts = texts[:-1]
    return texts[-1] if texts else None


def message_id(tracker: Tracker) -> int | None:
    """The hub's id of the customer message this turn answers (sent in the metadata)."""
    value = metadata(tracker).get("message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


async def settle(signals: GapSignals, tracker: Tracker) -> dict[str, Any] | None:
    """A new customer turn decides a pending clarify: the offered candidate it picked, or
    None (the clarify is then logged as a gap). Never fails the turn."""
    try:
        return await signals.settle(tracker.sender_id, message_id(tracker), latest_text(tracker))
    except Exception:
        log.exception("could not settle the last clarify of %s", tracker.sender_id)
        return None
