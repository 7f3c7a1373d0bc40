"""What a writer sends to create or replace an article, checked and rendered as the Markdown
file the loader reads (YAML front matter in the order of the existing articles, one example
question per line, so a change reads well in a git diff)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge_base.loader import (
    HANDOFF_VALUES,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    Article,
    ArticleError,
    ArticleFormatError,
    parse_article,
)

MAX_ID = 80


@dataclass(frozen=True)
class ArticleInput:
    id: str
    language: str
    title: str
    questions: list[str]
    body: str
    handoff: str | None = None  # never | on_request | always; None: the default, on_request
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SaveResult:
    article: Article
    created: bool  # False: an existing article was replaced
    path: Path
    seconds: float  # from the call until the bot answered from the new version
    generation: int  # the knowledge base's generation that serves it

    @property
    def replaced(self) -> bool:
        return not self.created


class ArticleRejected(ValueError):
    """`save_article` refused the input; `errors` name the fields."""

    def __init__(self, errors: list[ArticleError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def _scalar(value: str) -> str:
    """A YAML scalar: plain when it reads back unchanged, else JSON-quoted (valid YAML)."""
    if value and "\n" not in value and value == value.strip():
        try:
            if yaml.safe_load(value) == value and not value.startswith(("-", "?", ":", "[", "{")):
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _clean(items: Iterable[str]) -> list[str]:
    return [" ".join(str(i).split()) for i in items if str(i).strip()]


def render(article: ArticleInput) -> str:
    """The article file's text."""
    lines = [
        "---",
        f"id: {_scalar(article.id)}",
        f"title: {_scalar(' '.join(article.title.split()))}",
        f"language: {_scalar(article.language)}",
        "questions:",
        *[f"  - {_scalar(q)}" for q in _clean(article.questions)],
    ]
    tags = _clean(article.tags)
    if tags:
        lines.append(f"tags: [{', '.join(_scalar(t) for t in tags)}]")
    if article.handoff:
        lines.append(f"handoff: {_scalar(article.handoff)}")
    lines.append("---")
    body = "\n".join(line.rstrip() for line in article.body.strip().splitlines())
    return "\n".join(lines) + "\n" + body + "\n"


def validate(
    article: ArticleInput, articles_dir: Path, languages: Iterable[str]
) -> tuple[Article | None, list[ArticleError]]:
    """The parsed article, or the errors (by field) that keep it from being saved."""
    path = target_path(articles_dir, article)
    errors: list[ArticleError] = []
    known = sorted(set(languages))

    def error(name: str, message: str) -> None:
        errors.append(ArticleError(path, name, message))

    if not isinstance(article.id, str) or not ID_PATTERN.fullmatch(article.id or ""):
        error("id", "must be a slug of letters, digits, '-' and '_' like 'reset-password'")
    elif len(article.id) > MAX_ID:
        error("id", f"must be at most {MAX_ID} characters")
    if article.language not in known:
        error("language", f"must be one of {', '.join(known)}, got {article.language!r}")
    if article.handoff is not None and article.handoff not in HANDOFF_VALUES:
        error("handoff", f"must be one of {', '.join(HANDOFF_VALUES)}, got {article.handoff!r}")
    if not isinstance(article.title, str) or not article.title.strip():
        error("title", "is required")
    if not _clean(article.questions or []):
        error("questions", "at least one example question is required")
    if not isinstance(article.body, str) or not article.body.strip():
        error("body", "the answer is required")
    if errors:
        return None, errors
    try:
        return parse_article(path, render(article), article.language), []
    except ArticleFormatError as exc:  # anything the loader would refuse
        return None, [exc.error]


def target_path(articles_dir: Path, article: ArticleInput) -> Path:
    """`<articles_dir>/<language>/<id>.md` (only meaningful once `validate` passed: the id and
    language are then safe path parts)."""
    name = str(article.id) if ID_PATTERN.fullmatch(str(article.id or "")) else "invalid"
    lang = str(article.language)
    return articles_dir / (lang if LANGUAGE_PATTERN.fullmatch(lang) else "invalid") / f"{name}.md"
