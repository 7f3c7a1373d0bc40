"""answer / clarify / unknown on a small fixture knowledge base, with the real embedding model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex
from knowledge_base.retriever import Retriever

ARTICLES = {
    "reset-password": (
        "Reset your password",
        "never",
        [
            "how do I reset my password",
            "I forgot my password",
            "I can't log in because I don't remember my password",
            "send me a password reset link",
            "my password is not accepted anymore",
        ],
    ),
    "home-delivery-address": (
        "Change the delivery address of an order",
        "never",
        [
            "how can I change my address",
            "deliver my order to another address",
            "I moved, where do I update the shipping address for my parcel",
            "send the package to my new home",
        ],
    ),
    "billing-address": (
        "Change the billing address on invoices",
        "never",
        [
            "how can I change my address",
            "the address on my invoice is wrong",
            "update the billing address for my card payments",
            "put my company address on the bill",
        ],
    ),
    "opening-hours": (
        "Opening hours of our stores",
        "never",
        [
            "when are you open",
            "what time does the shop close",
            "are you open on sunday",
            "store opening times",
        ],
    ),
    "legal-complaint": (
        "Legal complaints and disputes",
        "always",
        [
            "I want to file a formal legal complaint",
            "my lawyer will contact you",
            "I am going to sue your company",
            "how do I start legal action against you",
        ],
    ),
    "gift-cards": (
        "Gift cards",
        "never",
        [
            "can I buy a gift card",
            "how do I redeem a gift voucher",
            "check the balance of my gift card",
            "do gift cards expire",
        ],
    ),
}


@pytest.fixture(scope="module")
def retriever(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    root = tmp_path_factory.mktemp("kb")
    folder = root / "articles" / "en"
    folder.mkdir(parents=True)
    for article_id, (title, handoff, questions) in ARTICLES.items():
        front = {"id": article_id, "title": title, "handoff": handoff, "questions": questions}
        body = f"{title}. Here is what to do, step by step."
        (folder / f"{article_id}.md").write_text(f"---\n{json.dumps(front)}\n---\n{body}\n")
    index, report = KnowledgeIndex.from_directory(root / "articles", embedder, root / "index")
    assert report.articles == len(ARTICLES) and not report.errors
    return Retriever(index, embedder)


def test_exact_paraphrase_is_answered(retriever: Retriever) -> None:
    result = retriever.search("I forgot my password")
    assert result.decision == "answer"
    assert result.best is not None and result.best.article.id == "reset-password"


def test_close_paraphrase_is_answered(retriever: Retriever) -> None:
    result = retriever.search("how can I reset my password?")
    assert result.decision == "answer"
    assert result.best is not None and result.best.article.id == "reset-password"


def test_two_close_articles_ask_which(retriever: Retriever) -> None:
    result = retriever.search("how can I change my address")
    assert result.decision == "clarify"
    options = {c.article.id for c in retriever.clarify_options(result)}
    assert options == {"home-delivery-address", "billing-address"}


@pytest.mark.parametrize(
    "text", ["what is the capital of Mongolia", "how do I cook rice", "who won the world cup"]
)
def test_unrelated_text_is_unknown(retriever: Retriever, text: str) -> None:
    assert retriever.search(text).decision == "unknown"


def test_handoff_always_article_is_best_candidate(retriever: Retriever) -> None:
    result = retriever.search("I will take legal action against your company")
    assert result.best is not None
    assert result.best.article.id == "legal-complaint"
    assert result.best.article.handoff == "always"
    assert result.best.to_dict()["id"] == "legal-complaint"


def test_one_article_change_reembeds_only_that_article(embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "articles" / "en"
    folder.mkdir(parents=True)
    for article_id in ("reset-password", "gift-cards"):
        title, handoff, questions = ARTICLES[article_id]
        front = {"id": article_id, "title": title, "questions": questions}
        (folder / f"{article_id}.md").write_text(f"---\n{json.dumps(front)}\n---\n{title}.\n")
    _, first = KnowledgeIndex.from_directory(tmp_path / "articles", embedder, tmp_path / "idx")
    front = {"id": "gift-cards", "title": "Gift cards", "questions": ["are gift cards refundable"]}
    (folder / "gift-cards.md").write_text(f"---\n{json.dumps(front)}\n---\nGift cards.\n")
    _, second = KnowledgeIndex.from_directory(tmp_path / "articles", embedder, tmp_path / "idx")
    assert first.embedded > 0
    assert second.changed == ["en/gift-cards"]
    assert second.embedded == 1  # only the new question; title and passage are cached
