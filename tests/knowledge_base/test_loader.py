"""Loading articles: the demo content is valid; broken files are reported by file and field."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.loader import load_articles
from tests.conftest import DEMO_ARTICLES

GOOD = """---
id: opening-hours
title: Opening hours
language: en
questions:
  - when are you open
tags: [support]
---
Monday to Friday, 8 to 20.
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / "en" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_demo_knowledge_base_is_complete():
    result = load_articles(DEMO_ARTICLES)
    assert result.errors == []
    assert len(result.articles) >= 30
    assert all(len(a.questions) >= 5 for a in result.articles)
    by_id = {a.id: a for a in result.articles}
    assert by_id["billing-dispute"].handoff == "always"
    assert by_id["legal-complaint"].handoff == "always"
    assert "reset-password" in by_id


def test_broken_front_matter_names_the_file_and_is_skipped(tmp_path: Path):
    write(tmp_path, "good.md", GOOD)
    bad = write(tmp_path, "bad.md", "---\nid: bad\ntitle: [unclosed\n---\nbody\n")
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["opening-hours"]
    assert len(result.errors) == 1
    assert result.errors[0].path == bad
    assert "front matter" in str(result.errors[0]) and "bad.md" in str(result.errors[0])


def test_each_invalid_field_is_named(tmp_path: Path):
    cases = {
        "no-title.md": (GOOD.replace("title: Opening hours\n", ""), "title"),
        "handoff.md": (GOOD.replace("tags:", "handoff: sometimes\ntags:"), "handoff"),
        "questions.md": (GOOD.replace("  - when are you open", "  - {a: 1}"), "questions"),
        "empty.md": (GOOD.split("---\nMonday")[0] + "---\n", "body"),
        "unclosed.md": ("---\nid: x\ntitle: y\n", "front matter"),
    }
    for name, (text, _) in cases.items():
        write(tmp_path, name, text.replace("id: opening-hours", f"id: {name[:-3]}"))
    errors = {e.path.name: e.field for e in load_articles(tmp_path).errors}
    assert errors == {name: field for name, (_, field) in cases.items()}


def test_duplicate_ids_in_one_language_are_rejected(tmp_path: Path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD)
    result = load_articles(tmp_path)
    assert len(result.articles) == 1
    assert result.errors[0].field == "id"
