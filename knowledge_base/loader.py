"""Load `articles/<lang>/<id>.md` files (YAML front matter + Markdown answer).

A broken article never stops the rest from loading: it becomes an `ArticleError` that names
the file and the field at fault. Refused loudly (the article skipped, an error naming the file):
a duplicate `id` within one language (the file named `<id>.md` wins, else the first by path;
the error names both files), a `language:` that disagrees with the article's folder, and an
article without example questions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HANDOFF_VALUES = ("never", "on_request", "always")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*$", re.IGNORECASE)
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")


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


Stat = tuple[int, int, int]  # mtime_ns, size, inode: changes when an editor or git writes


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    stats: dict[Path, Stat] = field(default_factory=dict)  # every file read, as `scan` saw it


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


def folder_language(root: Path, path: Path) -> str | None:
    """The language an article's folder says (`<root>/<lang>/<id>.md`); None for a file
    directly in `root` or outside it."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    return parts[0] if len(parts) >= 2 and LANGUAGE_PATTERN.fullmatch(parts[0]) else None


def parse_article(path: Path, text: str, folder: str | None = None) -> Article:
    """Parse one article; raise `ArticleFormatError` naming the field at fault. `folder`: the
    language its folder says; a different `language:` in the front matter is an error."""
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
    language = meta.get("language", folder or path.parent.name)
    if not isinstance(language, str) or not LANGUAGE_PATTERN.fullmatch(language):
        raise fail("language", f"must be a language code like 'en' or 'sr-Cyrl', got {language!r}")
    if folder is not None and folder.lower() not in (language.lower(), language.split("-")[0]):
        raise fail(
            "language",
            f"says {language!r} but the file is in the '{folder}' folder; "
            f"move the file to '{language}/' or write 'language: {folder}'",
        )
    questions = meta.get("questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise fail("questions", "must be a list of example questions (text)")
    if not any(q.strip() for q in questions):
        raise fail("questions", "at least one example question is required")
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


def scan(root: Path) -> dict[Path, Stat]:
    """Every `*.md` under `root` with its stat; what the watcher compares between polls."""
    out: dict[Path, Stat] = {}
    for path in sorted(root.rglob("*.md")):
        try:
            st = path.stat()
        except OSError:  # removed between listing and stat
            continue
        out[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


Parsed = Article | ArticleError
ParseCache = dict[Path, tuple[Stat, Parsed]]


def read_article(root: Path, path: Path) -> Parsed:
    """One file as an article, or the error that keeps it out."""
    try:
        return parse_article(path, path.read_text(encoding="utf-8"), folder_language(root, path))
    except ArticleFormatError as exc:
        return exc.error
    except (OSError, UnicodeDecodeError) as exc:
        return ArticleError(path, "file", f"cannot be read: {exc}")


def _winner(paths: list[Path], article_id: str) -> Path:
    """Of several files with one id: the one named `<id>.md`, else the first by path."""
    named = [p for p in paths if p.stem == article_id]
    return (named or paths)[0]


def load_articles(root: Path, cache: ParseCache | None = None) -> LoadResult:
    """Load every `*.md` under `root` (any depth); collect errors instead of raising.

    `cache` (kept by the caller between loads) skips re-parsing files whose stat did not
    change; entries of files that are gone are dropped from it."""
    stats = scan(root)
    result = LoadResult(stats=stats)
    parsed: list[Parsed] = []
    for path, stat in stats.items():
        hit = cache.get(path) if cache is not None else None
        item = hit[1] if hit is not None and hit[0] == stat else read_article(root, path)
        if cache is not None:
            cache[path] = (stat, item)
        parsed.append(item)
    if cache is not None:
        for gone in [p for p in cache if p not in stats]:
            del cache[gone]
    by_key: dict[tuple[str, str], list[Article]] = {}
    for item in parsed:
        if isinstance(item, ArticleError):
            result.errors.append(item)
        else:
            by_key.setdefault((item.language, item.id), []).append(item)
    for (language, article_id), group in by_key.items():
        winner = _winner([a.path for a in group], article_id)
        for article in group:
            if article.path == winner:
                result.articles.append(article)
                continue
            result.errors.append(
                ArticleError(
                    article.path,
                    "id",
                    f"duplicate id '{article_id}' ({language}): skipped, {winner} is used "
                    f"(the file named '{article_id}.md' wins, else the first by path)",
                )
            )
    result.articles.sort(key=lambda a: a.path)
    result.errors.sort(key=lambda e: e.path)
    return result
