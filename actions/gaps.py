"""`action_log_gap`: the customer says the answer did not help; log it and offer a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import human_button, language, last_question
from bot.i18n import t
from bot.storage.repo import Store

SORRY = t("not_helpful")  # English; the customer gets their language


class LogGap(Action):
    def __init__(self, store: Store) -> None:
        self.store = store

    def name(self) -> str:
        return "action_log_gap"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = last_question(tracker, skip_latest=True)
        lang = language(tracker)
        if question:
            await self.store.log_gap(
                question=question,
                conversation_key=tracker.sender_id,
                language=lang,
                candidates=[],
                reason="not_helpful",
            )
        dispatcher.utter_message(text=t("not_helpful", lang), buttons=[human_button(lang)])
        return []
