"""The demo knowledge base answers real wordings it was not given, and knows what it lacks."""

from __future__ import annotations

import pytest

from knowledge_base.retriever import Retriever


@pytest.fixture
def retriever(demo_retriever: Retriever) -> Retriever:
    return demo_retriever


@pytest.mark.parametrize(
    "question",
    [
        "how do I reset my password",
        "I can't remember my password",
        "my password doesn't work anymore",
        "I need a new password for my account",
        "password recovery",
    ],
)
def test_password_paraphrases_get_the_reset_article(retriever: Retriever, question: str):
    result = retriever.search(question, "en")
    assert result.decision == "answer"
    assert result.best and result.best.article.id == "reset-password"


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("can I pay with paypal", "payment-methods"),
        ("when are you open on saturday", "opening-hours"),
        ("my parcel arrived damaged", "damaged-item"),
    ],
)
def test_other_topics_are_answered(retriever: Retriever, question: str, article: str):
    result = retriever.search(question, "en")
    assert result.best and result.best.article.id == article
    assert result.decision == "answer"


def test_a_loose_wording_is_confirmed_with_the_right_article_first(retriever: Retriever):
    # below the calibrated answer gate (precision first): the bot asks which one it means
    result = retriever.search("the parcel arrived broken", "en")
    assert result.decision == "clarify"
    assert retriever.clarify_options(result)[0].article.id == "damaged-item"


@pytest.mark.parametrize(
    "question",
    ["what is the capital of Mongolia", "how do I cook rice", "who won the world cup"],
)
def test_unrelated_questions_are_unknown(retriever: Retriever, question: str):
    assert retriever.search(question, "en").decision == "unknown"


def test_unknown_language_falls_back_to_the_default(retriever: Retriever):
    result = retriever.search("how do I reset my password", "xx")
    assert result.language == "en"
    assert result.best and result.best.article.id == "reset-password"
