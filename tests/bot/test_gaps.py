"""The gap log: gaps grouped by meaning with the real embedding model, what a cluster shows
writers, status changes, article usage, and clusters covered by themselves when an article
that answers them is added (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.gaps import GapBook
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.storage.db import Database
from bot.storage.repo import Store
from knowledge_base.embedder import Embedder, Embedders
from knowledge_base.service import KnowledgeBase

ARTICLES = {
    "reset-password": (
        "Reset your password",
        [
            "I forgot my password",
            "how do I reset my password",
            "the password reset email never came",
            "I can't log in to my account",
            "change my password",
        ],
        "Click **Forgot password?** on the login page.",
    ),
    "track-order": (
        "Track your order",
        [
            "where is my order",
            "how can I track my parcel",
            "my package has not arrived yet",
            "tracking number for my delivery",
            "when will my order arrive",
        ],
        "Open **My orders** and click **Track**.",
    ),
    "refund": (
        "Get a refund",
        [
            "I want my money back",
            "how do I get a refund",
            "refund for a returned item",
            "when will I get my refund",
            "can I get a refund for my order",
        ],
        "Refunds reach your card within 5 working days after we receive the return.",
    ),
}
ICELAND = (
    "Shipping to Iceland",
    [
        "do you ship to Iceland",
        "can I order to Reykjavik",
        "delivery to Iceland",
        "is shipping to Iceland possible",
        "do you deliver to Iceland",
        "send my order to Iceland",
    ],
    "Yes: we ship to Iceland in 5-8 working days.",
)
SHIPPING = [
    "do you ship to Iceland?",
    "can you deliver my order to Iceland",
    "is delivery to Iceland possible",
    "Do you ship to iceland??",
]
UNRELATED = ["is there a student discount", "can I pay with bitcoin"]


def write(folder: Path, article_id: str, title: str, questions: list[str], body: str) -> None:
    (folder / "en").mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f"  - {q}" for q in questions)
    (folder / "en" / f"{article_id}.md").write_text(
        f"---\nid: {article_id}\ntitle: {title}\nlanguage: en\nquestions:\n{lines}\n---\n{body}\n"
    )


@pytest.fixture
async def kb(tmp_path: Path, embedder: Embedder) -> KnowledgeBase:
    articles = tmp_path / "articles"
    for article_id, (title, questions, body) in ARTICLES.items():
        write(articles, article_id, title, questions, body)
    kb = KnowledgeBase(
        articles, tmp_path / "index", embedder.model_name, embedders=Embedders.single(embedder)
    )
    await kb.load()
    assert kb.ready, kb.error
    return kb


async def conversation_with_agent_answer(store: Store, chat: str, question: str) -> int:
    """A conversation where the customer asked `question` and an agent answered; returns the
    customer message's id."""
    stored = await store.store_incoming(IncomingMessage("web", chat, question, Customer(chat)))
    await store.store_outgoing(
        stored.conversation.id,
        [OutgoingMessage("We ship to Iceland with DHL.", sender="agent", custom={"agent": "Ana"})],
    )
    return stored.message.id


async def test_paraphrases_land_in_one_cluster_and_unrelated_questions_apart(
    database: Database, kb: KnowledgeBase
):
    book = GapBook(database, kb)
    for i, question in enumerate([*SHIPPING, *UNRELATED]):
        gap = await book.record(question, f"web:c{i}", "en", "unknown")
        assert gap is not None and gap.cluster_id is not None
    clusters = await book.clusters()
    assert [c["count"] for c in clusters] == [4, 1, 1]
    shipping = clusters[0]
    assert set(shipping["questions"]) == set(SHIPPING)
    assert shipping["question"] == SHIPPING[0] and shipping["language"] == "en"
    assert shipping["status"] == "open" and shipping["covered_by"] is None
    assert shipping["conversations"] == ["web:c0", "web:c1", "web:c2", "web:c3"]
    assert {c["questions"][0] for c in clusters[1:]} == set(UNRELATED)
    assert shipping["first_seen"] <= shipping["last_seen"]


async def test_a_cluster_shows_articles_agent_answers_and_reasons(
    database: Database, kb: KnowledgeBase
):
    store = Store(database)
    book = GapBook(database, kb)
    message_id = await conversation_with_agent_answer(store, "ana", SHIPPING[0])
    await book.record(SHIPPING[0], "web:ana", "en", "handoff", message_id=message_id)
    # the same message is one gap, whatever else happens to it (but a low rating)
    assert (
        await book.record(SHIPPING[0], "web:ana", "en", "not_helpful", message_id=message_id)
        is None
    )
    assert await book.record(SHIPPING[0], "web:ana", "en", "low_rating", message_id=message_id)
    await book.record(SHIPPING[1], "web:ben", "en", "unknown")
    (cluster,) = await book.clusters()
    assert cluster["count"] == 3 and cluster["reasons"] == {
        "handoff": 1,
        "low_rating": 1,
        "unknown": 1,
    }
    assert cluster["agent_answers"] == [
        {
            "conversation": "web:ana",
            "agent": "Ana",
            "text": "We ship to Iceland with DHL.",
            "at": cluster["agent_answers"][0]["at"],
        }
    ]
    assert cluster["articles"] and {"id", "title", "score"} <= set(cluster["articles"][0])
    assert set(cluster) >= {
        "id",
        "language",
        "languages",
        "status",
        "covered_by",
        "count",
        "first_seen",
        "last_seen",
        "questions",
        "articles",
        "conversations",
        "agent_answers",
    }


async def test_writers_dismiss_and_reopen_clusters(database: Database, kb: KnowledgeBase):
    book = GapBook(database, kb)
    gap = await book.record(UNRELATED[0], "web:x", "en", "unknown")
    assert gap and gap.cluster_id
    dismissed = await book.set_status(gap.cluster_id, "dismissed")
    assert dismissed["status"] == "dismissed"
    assert await book.clusters() == []
    assert [c["id"] for c in await book.clusters(None)] == [gap.cluster_id]
    with pytest.raises(ValueError):
        await book.set_status(gap.cluster_id, "closed")
    with pytest.raises(ValueError):
        await book.set_status(gap.cluster_id, "covered")  # by which article?
    with pytest.raises(KeyError):
        await book.set_status(gap.cluster_id + 100, "open")
    # a new question like a dismissed one starts an open cluster: writers see it again
    again = await book.record(UNRELATED[0], "web:y", "en", "unknown")
    assert again and again.cluster_id != gap.cluster_id
    assert (await book.set_status(gap.cluster_id, "open"))["status"] == "open"


async def test_article_usage_is_counted_per_article_and_language(
    database: Database, kb: KnowledgeBase
):
    book = GapBook(database, kb)
    for kind in ("answered", "answered", "offered", "not_helpful", "handoff"):
        await book.used("refund", "en", kind, "web:a")
    await book.used("refund", "sr-Cyrl", "answered", "web:b")
    await book.used("track-order", "en", "offered", "web:a")
    usage = await book.article_usage()
    assert [(u["article_id"], u["language"]) for u in usage] == [
        ("refund", "en"),
        ("refund", "sr"),
        ("track-order", "en"),
    ]
    assert {k: usage[0][k] for k in ("answered", "offered", "not_helpful", "handoff")} == {
        "answered": 2,
        "offered": 1,
        "not_helpful": 1,
        "handoff": 1,
    }
    assert usage[0]["last_used"] and usage[2]["offered"] == 1 and usage[2]["answered"] == 0
    with pytest.raises(ValueError):
        await book.used("refund", "en", "liked")


async def test_a_cluster_is_covered_by_itself_once_an_article_answers_it(
    sqlite_store: Store, kb: KnowledgeBase
):
    book = GapBook(sqlite_store.db, kb)
    for i, question in enumerate(SHIPPING):
        await book.record(question, f"web:s{i}", "en", "unknown")
    await book.record(UNRELATED[0], "web:u", "en", "unknown")
    assert await book.check_coverage() == []  # nothing answers them yet
    title, questions, body = ICELAND
    write(kb.articles_dir, "shipping-iceland", title, questions, body)
    await kb.reload()
    covered = await book.check_coverage()
    assert [(c["count"], c["status"], c["covered_by"]) for c in covered] == [
        (4, "covered", "shipping-iceland")
    ]
    assert [c["questions"][0] for c in await book.clusters()] == [UNRELATED[0]]
