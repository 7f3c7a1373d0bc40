"""The live knowledge base: article changes reach the running bot without a restart, broken
files never replace good articles, and searches keep working while it reloads. Real embedding
model (the session's MiniLM), real files in a temp folder."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from bot.hub import Hub
from bot.settings import Settings
from knowledge_base import index as index_module
from knowledge_base.editing import ArticleInput, ArticleRejected
from knowledge_base.embedder import Embedder, Embedders
from knowledge_base.loader import load_articles
from knowledge_base.service import KnowledgeBase
from knowledge_base.watcher import ArticleWatcher
from tests.conftest import DEMO_ARTICLES
from tests.fake_rasa import FakeRasa
from tests.support import serve

IDS = ["reset-password", "track-order", "opening-hours"]
GIFT_CARDS = """---
id: gift-cards
title: Gift cards
language: en
questions:
  - can I buy a gift card
  - do you sell gift vouchers
  - how do I redeem a gift card
  - gift card balance
---
Gift cards are sold at https://brightcart.example/gift in amounts from 10 to 200 EUR.
"""


def make_kb(root: Path, embedder: Embedder) -> KnowledgeBase:
    return KnowledgeBase(
        root / "articles",
        root / "index",
        embedder.model_name,
        languages=("en", "hr"),
        embedders=Embedders.single(embedder),
    )


@pytest.fixture
def cold_kb(tmp_path: Path, embedder: Embedder) -> KnowledgeBase:
    """The three demo articles, not loaded yet."""
    folder = tmp_path / "articles" / "en"
    folder.mkdir(parents=True)
    for article_id in IDS:
        shutil.copy(DEMO_ARTICLES / "en" / f"{article_id}.md", folder)
    return make_kb(tmp_path, embedder)


@pytest.fixture
async def kb(cold_kb: KnowledgeBase) -> AsyncIterator[KnowledgeBase]:
    base = cold_kb
    await base.load()
    assert base.state == "ready" and base.status()["health"] == "ok"
    yield base
    await base.close()


async def best(kb: KnowledgeBase, question: str) -> tuple[str, str, str]:
    """(decision, best article id, its title)."""
    found = await kb.search(question, "en")
    assert found is not None and found.best is not None
    return found.decision, found.best.article.id, found.best.article.title


async def until(kb: KnowledgeBase, served: Callable[[set[str]], bool], timeout: float = 60) -> None:
    """Wait (swap by swap) until the served article ids satisfy `served`."""

    async def wait() -> None:
        while not served({a.id for a in kb.articles()}):
            await kb.changed(kb.generation)

    await asyncio.wait_for(wait(), timeout)


def en(kb: KnowledgeBase, name: str) -> Path:
    return kb.articles_dir / "en" / name


async def test_an_article_added_while_serving_is_answered_after_reload(kb: KnowledgeBase):
    assert (await best(kb, "can I buy a gift card"))[1] != "gift-cards"
    generation = kb.generation
    en(kb, "gift-cards.md").write_text(GIFT_CARDS)
    report = await kb.reload()
    assert report.changed == ["en/gift-cards"]
    assert report.embedded == 6  # title, 4 questions, 1 passage: nothing else re-embedded
    assert await asyncio.wait_for(kb.changed(generation), 1) > generation
    decision, article, _ = await best(kb, "can I buy a gift card")
    assert (decision, article) == ("answer", "gift-cards")
    # the full calibration runs in the background and is swapped in; answers stay right
    assert report.provisional == ["en"]
    await kb.settled()
    assert kb.retriever is not None and not kb.retriever.index.provisional
    assert (await best(kb, "do you sell gift vouchers"))[1] == "gift-cards"


async def test_the_watcher_reloads_a_file_written_by_an_editor(kb: KnowledgeBase):
    watcher = ArticleWatcher(kb, interval=0.1, settle=0.05)
    watcher.start()
    try:
        en(kb, "gift-cards.md").write_text(GIFT_CARDS)
        await until(kb, lambda ids: "gift-cards" in ids)
        assert (await best(kb, "how do I redeem a gift card"))[1] == "gift-cards"
        # a deleted file removes its article
        en(kb, "gift-cards.md").unlink()
        await until(kb, lambda ids: "gift-cards" not in ids)
        assert (await best(kb, "how do I redeem a gift card"))[1] != "gift-cards"
        assert watcher.reloads == 2
    finally:
        await watcher.stop()


async def test_a_copy_with_the_same_id_never_replaces_the_real_article(kb: KnowledgeBase):
    copy = en(kb, "reset-password-copy.md")
    copy.write_text(
        en(kb, "reset-password.md")
        .read_text()
        .replace("title: Reset your password", "title: Reset your password (copy)")
    )
    await kb.reload()
    assert await best(kb, "I forgot my password") == (
        "answer",
        "reset-password",
        "Reset your password",
    )
    status = kb.status()
    assert status["health"] == "degraded"
    [error] = status["errors"]  # type: ignore[misc]
    assert error["path"] == str(copy) and error["field"] == "id"
    assert str(en(kb, "reset-password.md")) in error["message"]
    copy.unlink()
    await kb.reload()
    assert kb.status()["health"] == "ok"


async def test_a_broken_edit_keeps_the_last_good_version_serving(kb: KnowledgeBase):
    path = en(kb, "opening-hours.md")
    good = path.read_text()
    good_body = next(a.body for a in kb.articles() if a.id == "opening-hours")
    path.write_text(good.replace("questions:", "questions: [unclosed").replace("Monday", "Sunday"))
    await kb.reload()
    decision, article, _ = await best(kb, "when are you open")
    assert (decision, article) == ("answer", "opening-hours")
    served = next(a for a in kb.articles() if a.id == "opening-hours")
    assert served.body == good_body  # the last good version, not the broken edit
    status = kb.status()
    assert status["health"] == "degraded"
    [error] = status["errors"]  # type: ignore[misc]
    assert error["path"] == str(path) and error["serving_last_good"] is True
    # a duplicate id is a broken edit too: track-order's last good version keeps answering
    track = en(kb, "track-order.md")
    track.write_text(track.read_text().replace("id: track-order", "id: reset-password"))
    await kb.reload()
    assert (await best(kb, "where is my parcel"))[1] == "track-order"
    assert (await best(kb, "I forgot my password"))[1] == "reset-password"
    # fixed: the new version goes live and the knowledge base is healthy again
    path.write_text(good.replace("questions:", "questions:\n  - are you open on easter monday"))
    track.write_text(track.read_text().replace("id: reset-password", "id: track-order"))
    await kb.reload()
    assert kb.status()["health"] == "ok"
    served = next(a for a in kb.articles() if a.id == "opening-hours")
    assert "are you open on easter monday" in served.questions


async def test_save_article_writes_the_file_and_answers_from_it(kb: KnowledgeBase):
    article = ArticleInput(
        id="gift-cards",
        language="en",
        title="Gift cards",
        questions=["can I buy a gift card", "do you sell gift vouchers", "gift card balance"],
        body="Gift cards are sold at https://brightcart.example/gift.\n\nThey never expire.",
        handoff="never",
        tags=["payments"],
    )
    result = await kb.save_article(article, "writer1")
    assert result.created and result.path == en(kb, "gift-cards.md")
    assert result.seconds > 0 and result.generation == kb.generation
    assert (await best(kb, "do you sell gift vouchers"))[1] == "gift-cards"
    text = result.path.read_text()
    assert text.startswith("---\nid: gift-cards\ntitle: Gift cards\nlanguage: en\nquestions:\n")
    assert "  - can I buy a gift card\n" in text and "tags: [payments]\nhandoff: never\n" in text
    [parsed] = [a for a in load_articles(kb.articles_dir).articles if a.id == "gift-cards"]
    assert parsed.questions == tuple(article.questions) and parsed.handoff == "never"
    assert parsed.body == article.body
    assert not list(result.path.parent.glob("*.tmp"))  # written via a temp file and a rename
    # saving again replaces it
    again = await kb.save_article(
        ArticleInput(**{**article.__dict__, "title": "Gift cards and vouchers"}), "writer2"
    )
    assert again.replaced and again.path == result.path
    assert next(a for a in kb.articles() if a.id == "gift-cards").title == "Gift cards and vouchers"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "../../etc/passwd"}, "id"),
        ({"id": "a/b"}, "id"),
        ({"language": "xx"}, "language"),
        ({"language": "../en"}, "language"),
        ({"questions": ["  "]}, "questions"),
        ({"title": ""}, "title"),
        ({"body": " "}, "body"),
        ({"handoff": "sometimes"}, "handoff"),
    ],
)
async def test_invalid_articles_are_refused_by_field_and_nothing_is_written(
    cold_kb: KnowledgeBase, changes: dict[str, object], field: str
):
    kb = cold_kb  # refused before anything is loaded or written
    fields: dict[str, object] = {
        "id": "gift-cards",
        "language": "en",
        "title": "Gift cards",
        "questions": ["can I buy a gift card"],
        "body": "Yes.",
    }
    article = ArticleInput(**{**fields, **changes})  # type: ignore[arg-type]
    assert field in {e.field for e in kb.validate(article)}
    before = sorted(p for p in kb.articles_dir.rglob("*") if p.is_file())
    with pytest.raises(ArticleRejected) as refused:
        await kb.save_article(article, "writer1")
    assert field in {e.field for e in refused.value.errors}
    assert sorted(p for p in kb.articles_dir.rglob("*") if p.is_file()) == before


async def test_no_search_fails_while_reloads_swap_the_index(kb: KnowledgeBase):
    stop = asyncio.Event()
    answers: list[str] = []

    async def customers() -> None:
        while not stop.is_set():
            decision, article, _ = await best(kb, "where is my parcel")
            answers.append(article if decision == "answer" else decision)

    async def writer() -> None:
        try:
            for n in range(4):
                text = GIFT_CARDS.replace("gift card balance", f"gift card balance {n}")
                en(kb, "gift-cards.md").write_text(text)
                await kb.reload()
        finally:
            stop.set()

    await asyncio.gather(customers(), customers(), writer())
    assert len(answers) > 10
    assert set(answers) == {"track-order"}


async def test_a_burst_of_reload_requests_coalesces(kb: KnowledgeBase):
    en(kb, "gift-cards.md").write_text(GIFT_CARDS)
    reports = await asyncio.gather(*[kb.reload() for _ in range(6)])
    assert len({id(r) for r in reports}) <= 2  # the one running, and one more for the rest
    assert "gift-cards" in {a.id for a in kb.articles()}


async def test_healthz_is_degraded_by_a_broken_article_and_the_hub_reloads_by_itself(
    settings: Settings, tmp_path: Path
):
    """The running hub: /healthz names the broken article while the good ones answer; its
    watcher picks up a new article and the fix, with no restart."""
    folder = tmp_path / "hub-articles" / "en"
    folder.mkdir(parents=True)
    for article_id in IDS:
        shutil.copy(DEMO_ARTICLES / "en" / f"{article_id}.md", folder)
    broken = folder / "croatian.md"
    broken.write_text(GIFT_CARDS.replace("language: en", "language: hr"))
    async with serve(FakeRasa().app()) as rasa_url:
        hub = Hub(
            settings.with_(
                rasa_managed=False,
                rasa_url=rasa_url,
                articles_dir=folder.parent,
                embedding_models="minilm",
                kb_watch_seconds=0.2,
            )
        )
        async with serve(create_app(hub)) as url, httpx.AsyncClient(base_url=url) as http:
            while hub.kb.state in ("not loaded", "loading"):
                await asyncio.sleep(0.1)
            body = (await http.get("/healthz")).json()
            assert body["status"] == "degraded" and body["index"]["health"] == "degraded"
            [error] = body["index"]["errors"]
            assert error["path"] == str(broken) and error["field"] == "language"
            assert (await best(hub.kb, "I forgot my password"))[1] == "reset-password"

            broken.unlink()
            (folder / "gift-cards.md").write_text(GIFT_CARDS)
            await until(hub.kb, lambda ids: "gift-cards" in ids)
            assert (await best(hub.kb, "can I buy a gift card"))[1] == "gift-cards"
            body = (await http.get("/healthz")).json()
            assert body["index"]["health"] == "ok" and body["index"]["errors"] == []


async def test_a_large_language_answers_from_exact_search_until_its_graph_is_built(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
):
    """Above HNSW_ABOVE entries a reload serves from a flat (exact) index at once and swaps the
    HNSW graph in when the background has built it (the threshold lowered for the test)."""
    monkeypatch.setattr(index_module, "HNSW_ABOVE", 10)
    en(kb, "gift-cards.md").write_text(GIFT_CARDS)
    report = await kb.reload()
    assert report.provisional == ["en"]
    assert kb.retriever is not None
    assert kb.retriever.index.by_language["en"].index_type == "flat"
    assert (await best(kb, "can I buy a gift card"))[1] == "gift-cards"
    await kb.settled()
    assert kb.retriever.index.by_language["en"].index_type == "hnsw"
    assert kb.retriever.index.provisional == []
    assert (await best(kb, "can I buy a gift card"))[1] == "gift-cards"
