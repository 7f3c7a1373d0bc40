"""The knowledge base as the running hub sees it: loads in the background, searches off the loop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from knowledge_base.embedder import Embedders, Runtime
from knowledge_base.index import BuildReport, KnowledgeIndex
from knowledge_base.retriever import Retrieval, Retriever, RetrieverConfig

log = logging.getLogger(__name__)


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
        self.state = "not loaded"  # not loaded | loading | ready | failed
        self.error: str | None = None
        self.report: BuildReport | None = None
        self._embedder: Embedders | None = None
        self._retriever: Retriever | None = None

    @property
    def ready(self) -> bool:
        return self._retriever is not None

    def build(self, progress: bool = False) -> BuildReport:
        """Load articles and (re)build the index; blocking. Bad articles are reported, skipped."""
        if self._embedder is None:
            self._embedder = Embedders.from_spec(
                self.models or self.model, self.model, self.quantize, self.runtime, self.onnx_dir
            )
        index, report = KnowledgeIndex.from_directory(
            self.articles_dir, self._embedder, self.index_dir, progress=progress
        )
        for error in report.errors:
            log.error("article skipped: %s", error)
        retriever = Retriever(index, self._embedder, self.config, self.default_language)
        retriever.search("warm up")  # first query pays one-off costs; not a customer's
        self._retriever = retriever
        self.report = report
        return report

    async def load(self) -> None:
        self.state = "loading"
        try:
            await asyncio.to_thread(self.build)
            self.state = "ready"
            self.error = None
        except Exception as exc:  # keep serving; /healthz and the actions say what is wrong
            log.exception("knowledge base failed to load")
            self.state = "failed"
            self.error = f"{type(exc).__name__}: {exc}"

    async def search(self, text: str, language: str | None = None) -> Retrieval | None:
        retriever = self._retriever
        if retriever is None:
            return None
        return await asyncio.to_thread(retriever.search, text, language)

    def status(self) -> dict[str, object]:
        report = self.report
        return {
            "state": self.state,
            "error": self.error,
            "articles": report.articles if report else 0,
            "entries": report.entries if report else 0,
            "article_errors": [str(e) for e in report.errors] if report else [],
        }

    @property
    def retriever(self) -> Retriever | None:
        return self._retriever
