"""Custom Rasa actions, run in-process by the hub with rasa-sdk's executor.

`build_executor` registers action *instances*, so each gets its dependencies explicitly.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.common import settle
from actions.gaps import LogGap
from actions.handoff import Handoff
from actions.kb import AnswerFromKB
from actions.replies import replies
from bot.knowledge.gap_signals import GapSignals
from bot.knowledge.gaps import GapBook
from knowledge_base.service import KnowledgeBase


class SettlesClarify(Action):
    """Any other customer turn (a greeting, thanks, a request for a person) after a clarify
    leaves it unpicked: the gap log hears of it before the action runs."""

    def __init__(self, inner: Action, signals: GapSignals) -> None:
        self.inner = inner
        self.signals = signals

    def name(self) -> str:
        return str(self.inner.name())

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        await settle(self.signals, tracker)
        return list(await self.inner.run(dispatcher, tracker, domain))


def build_executor(kb: KnowledgeBase, gaps: GapBook) -> ActionExecutor:
    signals = GapSignals(gaps)
    executor = ActionExecutor()
    actions: list[Action] = [
        AnswerFromKB(kb, gaps, signals),
        LogGap(gaps, signals),
        SettlesClarify(Handoff(), signals),
        *(SettlesClarify(reply, signals) for reply in replies()),
    ]
    for action in actions:
        executor.register_action(action)
    return executor


__all__ = ["build_executor"]
