"""`action_log_gap`: the customer says the answer did not help; log it and offer a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import HUMAN_BUTTON, language, last_question
from bot.storage.repo import Store

SORRY = (
    "Sorry that didn't help. I've passed your question on so we can improve the answer. "
    "Would you like to talk to a person?"
)


class LogGap(Action):
    def __init__(self, store: Store) -> None:
        self.store = store

    def name(self) -> str:
        return "action_log_gap"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = last_question(tracker, skip_latest=True)
        if question:
            await self.store.log_gap(
                question=question,
                conversation_key=tracker.sender_id,
                language=language(tracker),
                candidates=[],
                reason="not_helpful",
            )
        dispatcher.utter_message(text=SORRY, buttons=[HUMAN_BUTTON])
        return []
