"""`action_handoff`: the customer wants a person (or is frustrated): say so honestly and ask
the hub, through a custom payload, to hand the conversation over."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

REASONS = {"ask_human": "requested", "complain": "frustration"}


class Handoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        reason = REASONS.get(str(intent), "requested")
        dispatcher.utter_message(json_message={"handoff": {"reason": reason}})
        return []
