"""Custom Rasa actions, run in-process by the hub with rasa-sdk's executor.

`build_executor` registers action *instances*, so each gets its dependencies explicitly.
"""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from actions.gaps import LogGap
from actions.handoff import Handoff
from actions.kb import AnswerFromKB
from actions.replies import replies
from bot.storage.repo import Store
from knowledge_base.service import KnowledgeBase


def build_executor(kb: KnowledgeBase, store: Store) -> ActionExecutor:
    executor = ActionExecutor()
    for action in (AnswerFromKB(kb, store), LogGap(store), Handoff(), *replies()):
        executor.register_action(action)
    return executor


__all__ = ["build_executor"]
