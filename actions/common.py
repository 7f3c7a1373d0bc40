"""Small helpers shared by the actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot import messages


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
