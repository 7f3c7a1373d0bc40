"""The handoff summary states the trigger: the question that failed (not an earlier question
the bot answered), what the bot tried (articles and clarify prompts with their scores) and why
it escalated, in words; a clarify the customer never picked is an unanswered question."""

from __future__ import annotations

from typing import Any

from bot.handoff.context import summary
from bot.storage.models import Message

RESET = {"id": "reset-password", "title": "Reset your password", "score": 0.91}
REFUND = {"id": "refunds", "title": "Refunds", "score": 0.48}
RETURNS = {"id": "returns", "title": "Return an item", "score": 0.46}


def said(
    texts: list[tuple[str, str | None, dict[str, Any] | None]],
) -> list[Message]:
    """Customer messages (text, intent, kb), with ids in order."""
    return [
        Message(id=i, direction="in", sender="customer", text=text, intent=intent, kb=kb)
        for i, (text, intent, kb) in enumerate(texts, start=1)
    ]


def answer(article: dict[str, Any]) -> dict[str, Any]:
    return {"decision": "answer", "article": article["id"], "candidates": [article]}


def clarify(*articles: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision": "clarify",
        "article": None,
        "candidates": list(articles),
        "offered": [a["id"] for a in articles],
    }


def test_the_question_that_failed_is_not_an_earlier_answered_one():
    messages = said(
        [
            ("how do I reset my password", "question", answer(RESET)),
            ("thanks", "thanks", None),
            ("where is my money for the returned shoes", "question", clarify(REFUND, RETURNS)),
            ("I want to talk to a person", "ask_human", None),
        ]
    )
    found = summary(messages, "requested", {})
    assert found["first_problem"] == "where is my money for the returned shoes"
    assert found["why"] == "the customer asked for a person"
    assert found["unanswered"] == ["where is my money for the returned shoes"]
    assert [t["text"] for t in found["tried"]] == [
        "answered with “Reset your password” (0.91)",
        "offered “Refunds” (0.48), “Return an item” (0.46); the customer picked none",
    ]


def test_a_picked_clarify_is_answered_and_a_statement_never_tried_is_the_problem():
    messages = said(
        [
            ("money back for my order", "question", clarify(REFUND, RETURNS)),
            ("Refunds", "question", answer(REFUND)),
            ("a person please, the refund form rejects my IBAN", "ask_human", None),
        ]
    )
    found = summary(messages, "requested", {})
    assert found["unanswered"] == []
    assert found["first_problem"] == "a person please, the refund form rejects my IBAN"
    assert found["tried"][0]["text"].endswith("the customer picked “Refunds”")


def test_why_in_words_for_every_reason():
    unknown = {"decision": "unknown", "candidates": [{**RETURNS, "score": 0.12}]}
    messages = said(
        [
            ("what is the capital of Mongolia", "nlu_fallback", unknown),
            ("who won the world cup in 1998", "nlu_fallback", unknown),
        ]
    )
    found = summary(messages, "unanswered", {"unknown_streak": 2})
    assert found["why"] == "the bot could not answer 2 times in a row"
    assert found["first_problem"] == "who won the world cup in 1998"
    assert found["tried"][0]["text"] == "found no article (closest: “Return an item” (0.12))"
    angry = summary(messages, "frustration", {"signals": ["shouting", "repeated_question"]})
    assert angry["why"] == "the customer was frustrated (shouting, repeated question)"
    policy = summary(
        said([("I was charged twice", "question", answer(RESET))]), "policy", {"signals": []}
    )
    assert policy["why"] == "the article “Reset your password” says a person handles this"
    assert summary(messages, "bot_error", {"error": "x"})["why"] == (
        "the assistant could not be reached"
    )


def test_no_kb_at_all_falls_back_to_the_first_statement():
    messages = said([("hi", "greet", None), ("my parcel is lost", None, None)])
    found = summary(messages, "requested", {})
    assert found["first_problem"] == "my parcel is lost"
    assert found["tried"] == [] and found["unanswered"] == []
