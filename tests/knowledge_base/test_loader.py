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


def test_a_copied_article_never_replaces_the_real_one(tmp_path: Path):
    """The blocker of issue 10: `reset-password-copy.md` sorts before `reset-password.md` and
    silently replaced it. The file named after the id wins; the copy is refused by name."""
    real = write(tmp_path, "reset-password.md", GOOD.replace("opening-hours", "reset-password"))
    copy = write(
        tmp_path,
        "reset-password-copy.md",
        GOOD.replace("opening-hours", "reset-password").replace(
            "title: Opening hours", "title: Reset your password (copy)"
        ),
    )
    result = load_articles(tmp_path)
    assert [(a.id, a.title, a.path) for a in result.articles] == [
        ("reset-password", "Opening hours", real)
    ]
    [error] = result.errors
    assert (error.path, error.field) == (copy, "id")
    message = str(error)
    assert "reset-password-copy.md" in message and str(real) in message
    assert "'reset-password'" in message


def test_without_a_file_named_after_the_id_the_first_by_path_wins(tmp_path: Path):
    first = write(tmp_path, "a-hours.md", GOOD)
    second = write(tmp_path, "b-hours.md", GOOD.replace("Opening hours", "Hours again"))
    result = load_articles(tmp_path)
    assert [a.path for a in result.articles] == [first]
    assert [(e.path, e.field) for e in result.errors] == [(second, "id")]
    assert str(first) in str(result.errors[0])


def test_the_same_id_in_two_languages_is_not_a_duplicate(tmp_path: Path):
    write(tmp_path, "opening-hours.md", GOOD)
    hr = tmp_path / "hr" / "opening-hours.md"
    hr.parent.mkdir()
    hr.write_text(GOOD.replace("language: en", "language: hr"))
    result = load_articles(tmp_path)
    assert sorted(a.language for a in result.articles) == ["en", "hr"]
    assert result.errors == []


def test_a_language_that_disagrees_with_the_folder_is_refused(tmp_path: Path):
    wrong = write(tmp_path, "opening-hours.md", GOOD.replace("language: en", "language: hr"))
    result = load_articles(tmp_path)
    assert result.articles == []
    [error] = result.errors
    assert (error.path, error.field) == (wrong, "language")
    assert "'hr'" in error.message and "'en'" in error.message


def test_the_folder_decides_when_the_language_is_left_out(tmp_path: Path):
    write(tmp_path, "opening-hours.md", GOOD.replace("language: en\n", ""))
    assert [a.language for a in load_articles(tmp_path).articles] == ["en"]


def test_an_article_without_example_questions_is_refused(tmp_path: Path):
    missing = write(tmp_path, "missing.md", GOOD.replace("questions:\n  - when are you open\n", ""))
    empty = write(
        tmp_path,
        "empty.md",
        GOOD.replace("id: opening-hours", "id: empty").replace(
            "questions:\n  - when are you open\n", "questions: []\n"
        ),
    )
    result = load_articles(tmp_path)
    assert result.articles == []
    assert {(e.path, e.field) for e in result.errors} == {
        (missing, "questions"),
        (empty, "questions"),
    }
