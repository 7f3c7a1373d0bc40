"""`action_log_gap`: the customer says the answer did not help; log it and offer a person."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import human_button, language, last_question, message_id, settle
from bot.i18n import t
from bot.knowledge.gap_signals import GapSignals, kb_outcome
from bot.knowledge.gaps import GapBook

SORRY = t("not_helpful")  # English; the customer gets their language

log = logging.getLogger(__name__)


class LogGap(Action):
    def __init__(self, gaps: GapBook, signals: GapSignals) -> None:
        self.gaps = gaps
        self.signals = signals

    def name(self) -> str:
        return "action_log_gap"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        await settle(self.signals, tracker)  # "no" after a clarify: that clarify is the gap
        try:
            await self._log(tracker, lang)
        except Exception:  # the customer still gets the reply
            log.exception("could not log the gap of %s", tracker.sender_id)
        dispatcher.utter_message(text=t("not_helpful", lang), buttons=[human_button(lang)])
        return []

    async def _log(self, tracker: Tracker, lang: str | None) -> None:
        """The question the bot answered last (with its article), else the previous text."""
        key = tracker.sender_id
        last = await self.signals.last_outcome(key, before=message_id(tracker))
        kb = kb_outcome(last) if last else {}
        if last is not None and kb.get("decision") == "answer":
            await self.gaps.answer_did_not_help(last.text, key, lang, kb, last.id)
            return
        if last is not None:
            return  # a clarify (settled above) or an unknown: logged already
        question = last_question(tracker, skip_latest=True)
        if question:
            await self.gaps.record(question, key, lang, "not_helpful")
