"""Fixed replies (greeting, goodbye, …) in the customer's language, from the `bot.i18n` catalog.

Rasa 3.6 could pick response variations by a slot `condition`, but it has no slot mapping
from message metadata, so a `language` slot would need a custom action anyway on every
turn; one small action per reply that reads the language from the metadata is simpler, and
keeps every fixed text in one catalog.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language
from bot.i18n import t

REPLIES = {  # action name → catalog key
    "action_greet": "greet",
    "action_goodbye": "goodbye",
    "action_you_are_welcome": "welcome",
    "action_iamabot": "iamabot",
    "action_glad": "glad",
}


class Reply(Action):
    def __init__(self, action: str, key: str) -> None:
        self.action = action
        self.key = key

    def name(self) -> str:
        return self.action

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=t(self.key, language(tracker)))
        return []


def replies() -> list[Reply]:
    return [Reply(action, key) for action, key in REPLIES.items()]
