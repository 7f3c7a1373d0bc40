"""`action_answer_from_kb`: answer from an article, ask which of two, or log a gap."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import human_button, language, last_question
from bot.i18n import t
from bot.storage.repo import Store
from knowledge_base.loader import Article
from knowledge_base.normalize import latin_to_cyrillic
from knowledge_base.retriever import Retrieval
from knowledge_base.service import KnowledgeBase

# English; the customer gets them in their language with t(key, language)
UNKNOWN = t("unknown")
CLARIFY = t("clarify")
CLARIFY_ONE = t("clarify_one")
LOADING = t("loading")


def payload(retrieval: Retrieval, text: str, buttons: list[dict[str, str]]) -> dict[str, Any]:
    """One custom payload: the message (Rasa would split plain text at blank lines) and what
    the knowledge base tried, which the hub stores for the agents and the frustration signals."""
    best = retrieval.best
    return {
        "message": {"text": text, "buttons": buttons},
        "kb": {
            "decision": retrieval.decision,
            "article": best.article.id if best and retrieval.decision == "answer" else None,
            "candidates": [c.to_dict() for c in retrieval.candidates[:3]],
        },
    }


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
    def __init__(self, kb: KnowledgeBase, store: Store) -> None:
        self.kb = kb
        self.store = store

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = last_question(tracker, skip_latest=False) or ""
        lang = language(tracker)
        human = human_button(lang)
        retrieval = await self.kb.search(question, lang)
        if retrieval is None:
            dispatcher.utter_message(text=t("loading", lang), buttons=[human])
            return []
        best = retrieval.best
        if retrieval.decision == "answer" and best:
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
            dispatcher.utter_message(
                json_message=payload(
                    retrieval,
                    t("clarify" if len(buttons) > 1 else "clarify_one", lang),
                    [*buttons, human],
                )
            )
            return []
        await self.store.log_gap(
            question=question,
            conversation_key=tracker.sender_id,
            language=retrieval.language,
            candidates=[c.to_dict() for c in retrieval.candidates[:3]],
        )
        dispatcher.utter_message(json_message=payload(retrieval, t("unknown", lang), [human]))
        return []
