"""The knowledge base as the running hub sees it: loads in the background, searches off the
loop, and reloads live.

A reload (`reload`, called by the watcher and by `save_article`) re-reads the articles folder
(re-parsing only files whose stat changed), re-embeds only new texts (the embedding cache stays
in memory), rebuilds only the languages whose texts changed - with the previous calibration and
a freshly fitted classifier, about a second - and swaps the retriever in one assignment:
searches in flight finish on the old one. The full calibration (CV, tens of seconds) - and for
a language above 20,000 entries the HNSW graph (exact search serves until then) - then runs in
the background and is swapped in when done. Reloads run one at a time; requests that arrive
during one are served by the next single reload.

A file that was good and becomes broken keeps serving its last good version (kept in memory by
path) while its error shows in `status()`; a deleted file removes its article.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from knowledge_base import editing
from knowledge_base.editing import ArticleInput, ArticleRejected, SaveResult
from knowledge_base.embedder import Embedders, EmbeddingCache, Runtime
from knowledge_base.index import BuildReport, Finish, KnowledgeIndex
from knowledge_base.loader import (
    LANGUAGE_PATTERN,
    Article,
    ArticleError,
    LoadResult,
    ParseCache,
    Stat,
    load_articles,
    scan,
)
from knowledge_base.retriever import Retrieval, Retriever, RetrieverConfig

log = logging.getLogger(__name__)

LAST_GOOD_NOTE = "the last good version is still served"
KEEP_FINISHED = 4  # background results remembered by signature (a revert reuses one)

__all__ = ["ArticleInput", "ArticleRejected", "KnowledgeBase", "SaveResult"]


@dataclass
class _Built:
    index: KnowledgeIndex
    report: BuildReport
    retriever: Retriever
    stats: dict[Path, Stat]
    last_good: dict[Path, Article]
    stale: set[Path]  # files whose error leaves their last good version serving


def merge_last_good(
    loaded: LoadResult, last_good: dict[Path, Article]
) -> tuple[list[Article], list[ArticleError], dict[Path, Article], set[Path]]:
    """The articles to serve: the good ones, plus the last good version of each file that is
    broken now (unless a good file took its language/id). Files that are gone are dropped."""
    articles = list(loaded.articles)
    taken = {(a.language, a.id) for a in articles}
    keep = {a.path: a for a in articles}
    errors: list[ArticleError] = []
    stale: set[Path] = set()
    for error in loaded.errors:
        old = last_good.get(error.path)
        if old is not None and error.path in loaded.stats and error.path not in keep:
            if (old.language, old.id) not in taken:
                taken.add((old.language, old.id))
                keep[error.path] = old
                articles.append(old)
                stale.add(error.path)
                error = replace(error, message=f"{error.message} ({LAST_GOOD_NOTE})")
        errors.append(error)
    articles.sort(key=lambda a: a.path)
    return articles, errors, keep, stale


class KnowledgeBase:
    def __init__(
        self,
        articles_dir: Path,
        index_dir: Path,
        model: str,
        default_language: str = "en",
        config: RetrieverConfig | None = None,
        quantize: bool = False,
        runtime: Runtime = "onnx",
        onnx_dir: Path | None = None,
        models: str = "",
        languages: Iterable[str] = (),
        embedders: Embedders | None = None,
    ) -> None:
        self.articles_dir = articles_dir
        self.index_dir = index_dir
        self.model = model
        self.default_language = default_language
        self.config = config
        self.quantize = quantize
        self.runtime: Runtime = runtime
        self.onnx_dir = onnx_dir
        self.models = models  # EMBEDDING_MODELS: a model per language; empty: `model` for all
        self.languages = tuple(languages)  # the languages a writer may save in (plus folders)
        self.state = "not loaded"  # not loaded | loading | ready | failed
        self.error: str | None = None  # why the last load or reload failed (None: it did not)
        self.report: BuildReport | None = None
        self.generation = 0  # +1 on every swap of the retriever
        self.calibrating = False
        self._embedder = embedders  # None: loaded from `models`/`model` on first build
        self._retriever: Retriever | None = None
        self._index: KnowledgeIndex | None = None
        self._parsed: ParseCache = {}
        self._caches: dict[str, EmbeddingCache] = {}
        self._finished: dict[str, Finish] = {}  # background work done, by language signature
        self._last_good: dict[Path, Article] = {}
        self._stale: set[Path] = set()
        self._stats: dict[Path, Stat] = {}
        self._swapped = asyncio.Event()
        self._lock = asyncio.Lock()  # one reload at a time
        self._persist_lock = asyncio.Lock()
        self._requested = 0  # reload requests so far
        self._covered = 0  # requests the last finished reload covered
        self._calibrator: asyncio.Task[None] | None = None
        self._calibrate_again = False
        self._tasks: set[asyncio.Task[None]] = set()
        # its own thread: stopping the hub need not wait for a calibration to finish
        self._calibration_thread = ThreadPoolExecutor(1, thread_name_prefix="kb-calibrate")

    @property
    def ready(self) -> bool:
        return self._retriever is not None

    def _embedders(self) -> Embedders:
        if self._embedder is None:
            self._embedder = Embedders.from_spec(
                self.models or self.model, self.model, self.quantize, self.runtime, self.onnx_dir
            )
        return self._embedder

    # -- building ---------------------------------------------------------------------------

    def _rebuild(self, quick: bool, progress: bool = False) -> _Built:
        """Read the folder and build an index (blocking; run in a thread, one at a time)."""
        embedders = self._embedders()
        loaded = load_articles(self.articles_dir, self._parsed)
        articles, errors, last_good, stale = merge_last_good(loaded, dict(self._last_good))
        index, report = KnowledgeIndex.build(
            articles,
            embedders,
            self.index_dir,
            errors,
            progress,
            previous=self._index,
            caches=self._caches,
            quick=quick,
            finished=dict(self._finished),
            persist=not quick,
        )
        for error in errors:
            log.error("article skipped: %s", error)
        retriever = Retriever(index, embedders, self.config, self.default_language)
        retriever.search("warm up")  # first query pays one-off costs; not a customer's
        return _Built(index, report, retriever, loaded.stats, last_good, stale)

    def _swap(self, built: _Built) -> None:
        """Make a build live: one assignment of the retriever (runs on the event loop)."""
        self._last_good, self._stale, self._stats = built.last_good, built.stale, built.stats
        self.report = built.report
        index = built.index.finished(self._finished)  # finished while it was being built
        retriever = built.retriever
        if index is not built.index:
            retriever = Retriever(index, self._embedders(), self.config, self.default_language)
        self._use(index, retriever)

    def _use(self, index: KnowledgeIndex, retriever: Retriever) -> None:
        self._index = index
        self._retriever = retriever
        self.generation += 1
        event, self._swapped = self._swapped, asyncio.Event()
        event.set()

    def build(self, progress: bool = False) -> BuildReport:
        """Load articles and (re)build the index with the full calibration; blocking (the CLI,
        and `load`). Bad articles are reported and skipped."""
        built = self._rebuild(quick=False, progress=progress)
        self._last_good, self._stale, self._stats = built.last_good, built.stale, built.stats
        self.report = built.report
        self._index, self._retriever = built.index, built.retriever
        self.generation += 1
        return built.report

    async def load(self) -> None:
        self.state = "loading"
        async with self._lock:
            covers = self._requested
            try:
                built = await asyncio.to_thread(self._rebuild, False)
                self._swap(built)
                self._covered = covers
                self.state = "ready"
                self.error = None
            except Exception as exc:  # keep serving; /healthz and the actions say what is wrong
                log.exception("knowledge base failed to load")
                self.state = "failed"
                self.error = f"{type(exc).__name__}: {exc}"

    async def reload(self) -> BuildReport:
        """Re-read the articles folder and swap in the new index; returns once the bot answers
        from it. Concurrent calls share reloads: a call waits at most for the reload running
        now and one more."""
        self._requested += 1
        ticket = self._requested
        async with self._lock:
            if self._covered >= ticket and self.report is not None:
                return self.report  # a reload that started after this request covered it
            covers = self._requested
            if self._index is not None and self.report is not None and not self.error:
                if await asyncio.to_thread(scan, self.articles_dir) == self._stats:
                    self._covered = covers
                    return self.report  # nothing changed on disk since the last build
            try:
                built = await asyncio.to_thread(self._rebuild, self._index is not None)
            except Exception as exc:
                log.exception("knowledge base reload failed; the previous index keeps serving")
                self.error = f"reload failed: {type(exc).__name__}: {exc}"
                raise
            self._swap(built)
            self._covered = covers
            self.state, self.error = "ready", None
            self._after_swap(built.index)
            return built.report

    def _after_swap(self, index: KnowledgeIndex) -> None:
        self._spawn(self._persist(index))
        if index.provisional:
            if self._calibrator is None or self._calibrator.done():
                self._calibrator = asyncio.create_task(self._calibrate(), name="kb-calibrate")
            else:
                self._calibrate_again = True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _persist(self, index: KnowledgeIndex) -> None:
        """Embedding caches and manifest to disk, off the path to going live."""
        async with self._persist_lock:
            try:
                await asyncio.to_thread(index.persist, self.index_dir, self._caches)
            except OSError as exc:
                log.warning("could not write the knowledge base cache: %s", exc)

    async def _calibrate(self) -> None:
        """Finish every pending language (full calibration; HNSW graph for a large one), each
        swapped in when done."""
        self.calibrating = True
        try:
            while True:
                self._calibrate_again = False
                current = self._index
                todo = [] if current is None else current.by_language.values()
                for idx in [i for i in todo if i.pending and i.signature not in self._finished]:
                    started = time.perf_counter()
                    loop = asyncio.get_running_loop()
                    done = await loop.run_in_executor(
                        self._calibration_thread, idx.finish, self.index_dir
                    )
                    self._remember(idx.signature, done)
                    now = self._index
                    if now is not None:
                        updated = now.finished(self._finished)
                        if updated is not now:
                            retriever = Retriever(
                                updated, self._embedders(), self.config, self.default_language
                            )
                            self._use(updated, retriever)
                    log.info(
                        "knowledge base %s finished (calibration, HNSW) in %.1f s",
                        idx.language,
                        time.perf_counter() - started,
                    )
                if not self._calibrate_again:
                    return
        except Exception:
            log.exception("background calibration failed; the quick calibration stays")
        finally:
            self.calibrating = False

    def _remember(self, signature: str, done: Finish) -> None:
        self._finished[signature] = done
        while len(self._finished) > KEEP_FINISHED:
            del self._finished[next(iter(self._finished))]

    async def settled(self) -> None:
        """Wait until the background calibration (if any) is done and swapped in."""
        while self._calibrator is not None and not self._calibrator.done():
            await asyncio.shield(self._calibrator)

    async def changed(self, after: int) -> int:
        """Wait until `generation` > `after`; return it."""
        while self.generation <= after:
            await self._swapped.wait()
        return self.generation

    def disk_changed(self) -> bool:
        """Whether the articles folder differs from what the live index was built from."""
        return scan(self.articles_dir) != self._stats

    async def close(self) -> None:
        """Stop background work (calibration, cache writes)."""
        tasks = [t for t in [self._calibrator, *self._tasks] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._calibration_thread.shutdown(wait=False, cancel_futures=True)

    # -- writers ----------------------------------------------------------------------------

    def articles(self) -> list[Article]:
        """The articles the bot serves now, every language."""
        index = self._index
        return list(index.articles) if index is not None else []

    def _served(self, language: str, article_id: str) -> Article | None:
        folder = self.articles_dir / language
        for article in self.articles():
            if (article.language, article.id) == (language, article_id):
                return article if article.path.parent == folder else None
        return None

    def known_languages(self) -> list[str]:
        folders = (
            [p.name for p in self.articles_dir.iterdir() if p.is_dir()]
            if self.articles_dir.is_dir()
            else []
        )
        found = {*self.languages, *folders, self.default_language}
        return sorted(lang for lang in found if LANGUAGE_PATTERN.fullmatch(lang))

    def validate(self, article: ArticleInput) -> list[ArticleError]:
        """The errors (by field) that would keep `article` from being saved; nothing written."""
        return editing.validate(article, self.articles_dir, self.known_languages())[1]

    async def save_article(self, article: ArticleInput, author: str) -> SaveResult:
        """Validate, write `<articles_dir>/<language>/<id>.md` atomically, reload; returns once
        the bot answers from the new version. Raises `ArticleRejected` (errors by field)."""
        started = time.perf_counter()
        parsed, errors = editing.validate(article, self.articles_dir, self.known_languages())
        if parsed is None:
            raise ArticleRejected(errors)
        current = self._served(article.language, article.id)
        created = current is None
        # replacing an article kept in a file of another name rewrites that file (a second
        # file with its id would be a duplicate)
        path = current.path if current is not None else parsed.path
        text = editing.render(article)
        await asyncio.to_thread(_write_atomically, path, text)
        log.info("article %s/%s saved by %s", article.language, article.id, author)
        await self.reload()
        live = next((a for a in self.articles() if a.path == path), parsed)
        problems = [e for e in (self.report.errors if self.report else []) if e.path == path]
        if problems:  # e.g. another file's id now wins: say so rather than claim it is live
            raise ArticleRejected(problems)
        return SaveResult(live, created, path, time.perf_counter() - started, self.generation)

    # -- serving ----------------------------------------------------------------------------

    async def search(self, text: str, language: str | None = None) -> Retrieval | None:
        retriever = self._retriever  # one read: a swap during the search does not affect it
        if retriever is None:
            return None
        return await asyncio.to_thread(retriever.search, text, language)

    def status(self) -> dict[str, object]:
        report = self.report
        errors = report.errors if report else []
        health = "ok" if self.state == "ready" and not errors and not self.error else "degraded"
        return {
            "state": self.state,
            "health": health,
            "error": self.error,
            "articles": report.articles if report else 0,
            "entries": report.entries if report else 0,
            "article_errors": [str(e) for e in errors],
            "errors": [
                {
                    "path": str(e.path),
                    "field": e.field,
                    "message": e.message,
                    "serving_last_good": e.path in self._stale,
                }
                for e in errors
            ],
            "generation": self.generation,
            "calibrating": self.calibrating,
        }

    @property
    def retriever(self) -> Retriever | None:
        return self._retriever


def _write_atomically(path: Path, text: str) -> None:
    """A temporary file in the same folder, then a rename: readers see the old or new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
