"""Rank articles for a question and decide: `answer`, `clarify` (two close candidates) or
`unknown` (nothing close enough: log a gap, offer a human)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex, LanguageIndex, tokenize
from knowledge_base.loader import Article

Decision = Literal["answer", "clarify", "unknown"]


@dataclass(frozen=True)
class RetrieverConfig:
    dense_k: int = 64  # nearest entries looked at per query
    passage_weight: float = 0.92  # a passage match counts a little less than a question match
    lexical_weight: float = 0.08  # weight of the saturated BM25 score in the fused score
    lexical_saturation: float = 6.0  # bm25 / (bm25 + this)
    answer_threshold: float = 0.62  # fused score needed to answer
    clarify_threshold: float = 0.50  # below this nothing is close: unknown
    margin: float = 0.04  # top two closer than this -> ask which one


@dataclass(frozen=True)
class Candidate:
    article: Article
    score: float
    dense: float
    lexical: float

    def to_dict(self) -> dict[str, object]:
        return {"id": self.article.id, "title": self.article.title, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Retrieval:
    decision: Decision
    candidates: list[Candidate] = field(default_factory=list)
    language: str = "en"

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Retriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: Embedder,
        config: RetrieverConfig | None = None,
        default_language: str = "en",
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or RetrieverConfig()
        self.default_language = default_language

    def _language_index(self, language: str | None) -> LanguageIndex | None:
        by_lang = self.index.by_language
        for lang in (language, (language or "").split("-")[0], self.default_language):
            if lang and lang in by_lang:
                return by_lang[lang]
        return next(iter(by_lang.values()), None)

    def rank(self, query: str, language: str | None = None, top: int = 5) -> list[Candidate]:
        idx = self._language_index(language)
        if idx is None or not idx.entries or not query.strip():
            return []
        cfg = self.config
        vector = self.embedder.encode_one(query)
        k = min(cfg.dense_k, len(idx.entries))
        sims, ids = idx.dense.search(vector[None, :], k)
        n_articles = len(idx.articles)
        dense = np.full(n_articles, -1.0, dtype=np.float32)
        for sim, entry_id in zip(sims[0], ids[0], strict=True):
            if entry_id < 0:
                continue
            weight = cfg.passage_weight if idx.entry_kind[entry_id] == "passage" else 1.0
            article = idx.entry_article[entry_id]
            dense[article] = max(dense[article], float(sim) * weight)
        lexical = np.zeros(n_articles, dtype=np.float32)
        tokens = [t for t in tokenize(query) if t in idx.lexical.vocab_dict]
        if tokens:
            scores = idx.lexical.get_scores(tokens)
            np.maximum.at(lexical, idx.entry_article, scores.astype(np.float32))
        lexical_sat = lexical / (lexical + cfg.lexical_saturation)
        fused = (1 - cfg.lexical_weight) * np.maximum(dense, 0) + cfg.lexical_weight * lexical_sat
        order = np.argsort(-fused)[:top]
        return [
            Candidate(idx.articles[i], float(fused[i]), float(dense[i]), float(lexical[i]))
            for i in order
            if dense[i] >= 0 or lexical[i] > 0
        ]

    def decide(self, candidates: list[Candidate]) -> Decision:
        cfg = self.config
        if not candidates or candidates[0].score < cfg.clarify_threshold:
            return "unknown"
        first = candidates[0].score
        second = candidates[1].score if len(candidates) > 1 else 0.0
        if first >= cfg.answer_threshold and first - second >= cfg.margin:
            return "answer"
        return "clarify"

    def search(self, query: str, language: str | None = None, top: int = 5) -> Retrieval:
        candidates = self.rank(query, language, top)
        idx = self._language_index(language)
        lang = idx.language if idx else (language or self.default_language)
        return Retrieval(self.decide(candidates), candidates, lang)

    def clarify_options(self, retrieval: Retrieval, limit: int = 2) -> list[Candidate]:
        """The close candidates worth offering as buttons."""
        floor = self.config.clarify_threshold
        return [c for c in retrieval.candidates[:limit] if c.score >= floor] or retrieval.candidates[:1]
