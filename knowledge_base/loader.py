"""Load `articles/<lang>/<id>.md` files (YAML front matter + Markdown answer).

A broken article never stops the rest from loading: it becomes an `ArticleError` that names
the file and the field at fault.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HANDOFF_VALUES = ("never", "on_request", "always")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    language: str
    questions: tuple[str, ...]
    body: str
    path: Path
    tags: tuple[str, ...] = ()
    handoff: str = "on_request"

    @property
    def content_hash(self) -> str:
        data = "\x1f".join([self.id, self.language, self.title, *self.questions, self.body])
        return hashlib.sha256(data.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ArticleError:
    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: field '{self.field}': {self.message}"


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)


class ArticleFormatError(ValueError):
    def __init__(self, error: ArticleError) -> None:
        super().__init__(str(error))
        self.error = error


def _split_front_matter(path: Path, text: str) -> tuple[str, str]:
    if not text.startswith("---"):
        raise ArticleFormatError(ArticleError(path, "front matter", "must start with '---'"))
    parts = re.split(r"^---[ \t]*$", text, maxsplit=2, flags=re.MULTILINE)
    if len(parts) < 3:
        raise ArticleFormatError(ArticleError(path, "front matter", "no closing '---' line"))
    return parts[1], parts[2].strip()


def parse_article(path: Path, text: str) -> Article:
    """Parse one article; raise `ArticleFormatError` naming the field at fault."""
    raw_meta, body = _split_front_matter(path, text)
    try:
        meta = yaml.safe_load(raw_meta) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where else ""
        raise ArticleFormatError(
            ArticleError(path, "front matter", f"invalid YAML{line}: {exc}")
        ) from exc
    if not isinstance(meta, dict):
        raise ArticleFormatError(ArticleError(path, "front matter", "must be a YAML mapping"))

    def fail(name: str, message: str) -> ArticleFormatError:
        return ArticleFormatError(ArticleError(path, name, message))

    article_id = meta.get("id", path.stem)
    if not isinstance(article_id, str) or not ID_PATTERN.match(article_id):
        raise fail("id", f"must be a slug like 'reset-password', got {article_id!r}")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title", "is required and must be text")
    language = meta.get("language", path.parent.name)
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", language):
        raise fail("language", f"must be a language code like 'en' or 'sr-Cyrl', got {language!r}")
    questions = meta.get("questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise fail("questions", "must be a list of example questions (text)")
    tags = meta.get("tags", [])
    if not isinstance(tags, list):
        raise fail("tags", "must be a list")
    handoff = meta.get("handoff", "on_request")
    if handoff not in HANDOFF_VALUES:
        raise fail("handoff", f"must be one of {', '.join(HANDOFF_VALUES)}, got {handoff!r}")
    if not body:
        raise fail("body", "the answer below the front matter is empty")
    return Article(
        id=article_id,
        title=title.strip(),
        language=language,
        questions=tuple(q.strip() for q in questions if q.strip()),
        body=body,
        path=path,
        tags=tuple(str(t) for t in tags),
        handoff=handoff,
    )


def load_articles(root: Path) -> LoadResult:
    """Load every `*.md` under `root` (any depth); collect errors instead of raising."""
    result = LoadResult()
    seen: dict[tuple[str, str], Path] = {}
    for path in sorted(root.rglob("*.md")):
        try:
            article = parse_article(path, path.read_text(encoding="utf-8"))
        except ArticleFormatError as exc:
            result.errors.append(exc.error)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            result.errors.append(ArticleError(path, "file", f"cannot be read: {exc}"))
            continue
        key = (article.id, article.language)
        if key in seen:
            result.errors.append(
                ArticleError(path, "id", f"'{article.id}' ({article.language}) is also {seen[key]}")
            )
            continue
        seen[key] = path
        result.articles.append(article)
    return result
