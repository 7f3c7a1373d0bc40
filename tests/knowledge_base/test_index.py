"""Building the index: incremental from content hashes, and robust to broken articles."""

from __future__ import annotations

import shutil
from pathlib import Path

from knowledge_base.index import KnowledgeIndex, entries_for
from knowledge_base.loader import load_articles
from tests.conftest import DEMO_ARTICLES


def copy_demo(tmp_path: Path, ids: list[str]) -> Path:
    root = tmp_path / "articles"
    (root / "en").mkdir(parents=True)
    for article_id in ids:
        shutil.copy(DEMO_ARTICLES / "en" / f"{article_id}.md", root / "en")
    return root


def test_a_one_article_change_re_embeds_only_that_article(tmp_path: Path, embedder):
    root = copy_demo(tmp_path, ["reset-password", "track-order", "opening-hours"])
    cache = tmp_path / "index"
    _, first = KnowledgeIndex.from_directory(root, embedder, cache)
    assert first.embedded == first.entries
    assert len(first.changed) == 3

    _, unchanged = KnowledgeIndex.from_directory(root, embedder, cache)
    assert unchanged.embedded == 0 and unchanged.changed == []

    path = root / "en" / "opening-hours.md"
    path.write_text(
        path.read_text().replace("questions:", "questions:\n  - are you open on sundays")
    )
    index, changed = KnowledgeIndex.from_directory(root, embedder, cache)
    assert changed.changed == ["en/opening-hours"]
    assert changed.embedded == 1  # only the new question is new text
    assert len(index) == 3


def test_removed_articles_leave_the_index(tmp_path: Path, embedder):
    root = copy_demo(tmp_path, ["reset-password", "track-order"])
    cache = tmp_path / "index"
    KnowledgeIndex.from_directory(root, embedder, cache)
    (root / "en" / "track-order.md").unlink()
    index, report = KnowledgeIndex.from_directory(root, embedder, cache)
    assert report.removed == ["en/track-order"]
    assert [a.id for a in index.articles] == ["reset-password"]


def test_a_broken_article_is_skipped_and_the_rest_indexed(tmp_path: Path, embedder):
    root = copy_demo(tmp_path, ["reset-password", "track-order"])
    (root / "en" / "broken.md").write_text("---\ntitle: no closing line\n")
    index, report = KnowledgeIndex.from_directory(root, embedder, tmp_path / "index")
    assert sorted(a.id for a in index.articles) == ["reset-password", "track-order"]
    assert [e.path.name for e in report.errors] == ["broken.md"]


def test_entries_cover_title_questions_and_passages():
    article = next(a for a in load_articles(DEMO_ARTICLES).articles if a.id == "reset-password")
    kinds = [e.kind for e in entries_for([article])]
    assert kinds.count("title") == 1
    assert kinds.count("question") == len(article.questions)
    assert kinds.count("passage") >= 1
