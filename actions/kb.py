"""`action_answer_from_kb`: answer from an article, ask which of two, or log a gap."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import human_button, language, last_question, message_id, settle
from bot.i18n import t
from bot.knowledge.gap_signals import GapSignals
from bot.knowledge.gaps import GapBook
from knowledge_base.loader import Article
from knowledge_base.normalize import latin_to_cyrillic
from knowledge_base.retriever import Retrieval
from knowledge_base.service import KnowledgeBase

# English; the customer gets them in their language with t(key, language)
UNKNOWN = t("unknown")
CLARIFY = t("clarify")
CLARIFY_ONE = t("clarify_one")
LOADING = t("loading")

log = logging.getLogger(__name__)


def payload(
    retrieval: Retrieval,
    text: str,
    buttons: list[dict[str, str]],
    offered: list[str] | None = None,
) -> dict[str, Any]:
    """One custom payload: the message (Rasa would split plain text at blank lines) and what
    the knowledge base tried, which the hub stores for the agents, the frustration signals and
    the gap log (`offered`: the articles of a clarify's buttons)."""
    best = retrieval.best
    kb: dict[str, Any] = {
        "decision": retrieval.decision,
        "article": best.article.id if best and retrieval.decision == "answer" else None,
        "candidates": [c.to_dict() for c in retrieval.candidates[:3]],
    }
    if offered is not None:
        kb["offered"] = offered
    return {"message": {"text": text, "buttons": buttons}, "kb": kb}


def picked(retrieval: Retrieval, choice: dict[str, Any] | None) -> Retrieval:
    """The customer pressed a clarify button: its article answers, whatever the search of its
    title alone decided."""
    if choice is None or retrieval.decision == "answer":
        return retrieval
    chosen = [c for c in retrieval.candidates if c.article.id == choice.get("id")]
    if not chosen:
        return retrieval
    rest = [c for c in retrieval.candidates if c.article.id != choice.get("id")]
    return replace(retrieval, decision="answer", candidates=[*chosen, *rest])


def in_script(text: str, article: Article, language: str | None) -> str:
    """Serbian articles are written in Latin; a Cyrillic conversation reads them in Cyrillic."""
    if article.language == "sr" and (language or "").lower() == "sr-cyrl":
        return latin_to_cyrillic(text)
    return text


def answer(
    retrieval: Retrieval, buttons: list[dict[str, str]], language: str | None = None
) -> dict[str, Any]:
    article = retrieval.candidates[0].article
    text = in_script(f"**{article.title}**\n\n{article.body}", article, language)
    return payload(retrieval, text, buttons)


class AnswerFromKB(Action):
    def __init__(self, kb: KnowledgeBase, gaps: GapBook, signals: GapSignals) -> None:
        self.kb = kb
        self.gaps = gaps
        self.signals = signals

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = last_question(tracker, skip_latest=False) or ""
        lang = language(tracker)
        human = human_button(lang)
        choice = await settle(self.signals, tracker)
        retrieval = await self.kb.search(question, lang)
        if retrieval is None:
            dispatcher.utter_message(text=t("loading", lang), buttons=[human])
            return []
        retrieval = picked(retrieval, choice)
        best = retrieval.best
        key, mid = tracker.sender_id, message_id(tracker)
        if retrieval.decision == "answer" and best:
            await self._used([best.article.id], retrieval.language, "answered", key, mid)
            if best.article.handoff == "always":
                policy = answer(retrieval, [], lang)
                policy["handoff"] = {"reason": "policy", "article": best.article.id}
                dispatcher.utter_message(json_message=policy)
                return []
            dispatcher.utter_message(json_message=answer(retrieval, [human], lang))
            return []
        if retrieval.decision == "clarify" and self.kb.retriever:
            options = self.kb.retriever.clarify_options(retrieval)
            titles = [in_script(c.article.title, c.article, lang) for c in options]
            buttons = [{"title": title, "payload": title} for title in titles]
            offered = [c.article.id for c in options]
            await self._used(offered, retrieval.language, "offered", key, mid)
            dispatcher.utter_message(
                json_message=payload(
                    retrieval,
                    t("clarify" if len(buttons) > 1 else "clarify_one", lang),
                    [*buttons, human],
                    offered,
                )
            )
            return []
        try:
            await self.gaps.record(
                question,
                key,
                lang or retrieval.language,
                "unknown",
                [c.to_dict() for c in retrieval.candidates[:3]],
                message_id=mid,
            )
        except Exception:  # the customer still gets the reply
            log.exception("could not log the gap of %s", key)
        dispatcher.utter_message(json_message=payload(retrieval, t("unknown", lang), [human]))
        return []

    async def _used(
        self, articles: list[str], language: str, kind: str, key: str, mid: int | None
    ) -> None:
        try:
            for article in articles:
                await self.gaps.used(article, language, kind, key, mid)
        except Exception:
            log.exception("could not count the use of %s", articles)
