"""Rank articles for a question and decide: `answer`, `clarify` (two close candidates) or
`unknown` (nothing close enough: log a gap, offer a human)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from knowledge_base.classifier import (
    LEXICAL_SATURATION,
    LEXICAL_WEIGHTS,
    MIN_ANSWER_SHARE,
    Calibration,
    confidence,
    lexical_bonus,
    mix,
)
from knowledge_base.embedder import AnyEmbedder, Embedders
from knowledge_base.index import KnowledgeIndex, LanguageIndex, lexical_tokens
from knowledge_base.loader import Article
from knowledge_base.normalize import fallback_chain, for_embedding, for_matching

Decision = Literal["answer", "clarify", "unknown"]
Vectors = dict[tuple[str, str], np.ndarray]  # (model, matching form) -> the query's vector


@dataclass(frozen=True)
class RetrieverConfig:
    """Retrieval knobs. The decision thresholds default to None = use the values the index
    chose for this knowledge base by cross-validation over its own example questions
    (`knowledge_base.classifier.calibrate`); set a number to override."""

    dense_k: int = 64  # nearest entries looked at per query
    passage_weight: float = 0.92  # a passage match counts a little less than a question match
    lexical_weight: float = 0.0  # BM25 bonus added to the dense similarity (0 = BM25 unused)
    lexical_weights: Mapping[str, float] = field(default_factory=lambda: dict(LEXICAL_WEIGHTS))
    lexical_saturation: float = LEXICAL_SATURATION  # bm25 / (bm25 + this)
    answer_threshold: float | None = None  # confidence needed to answer (None: calibrated)
    answer_similarity: float | None = None  # cosine to the best article needed to answer
    clarify_threshold: float | None = None  # cosine below which nothing is close: unknown
    margin: float = 0.0  # extra required gap between the top two scores to answer
    use_classifier: bool = True  # mix in the per-article classifier when the index has one


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
    near_out_of_scope: bool = False  # nearer the out-of-scope examples than any article

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Retriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: AnyEmbedder | Embedders,
        config: RetrieverConfig | None = None,
        default_language: str = "en",
    ) -> None:
        self.index = index
        self.embedders = embedder if isinstance(embedder, Embedders) else Embedders.single(embedder)
        self.embedder = self.embedders.for_language(default_language)
        self.config = config or RetrieverConfig()
        self.default_language = default_language

    def _language_index(self, language: str | None) -> LanguageIndex | None:
        by_lang = self.index.by_language
        for lang in fallback_chain(language, self.default_language):
            if lang in by_lang:
                return by_lang[lang]
        return next(iter(by_lang.values()), None)

    def _calibration(self, idx: LanguageIndex | None) -> Calibration:
        if idx is not None and idx.learned is not None:
            return idx.learned.calibration
        return Calibration()

    def _embed(self, text: str, idx: LanguageIndex, memo: Vectors | None) -> np.ndarray:
        """The query's vector for this language's model; within one search (`memo`) each model
        embeds each matching form once, however many languages of the chain are searched."""
        key = (idx.model, text)
        if memo is not None and key in memo:
            return memo[key]
        vector = self.embedders.for_language(idx.language).encode_one(text)
        if memo is not None:
            memo[key] = vector
        return vector

    def rank(
        self,
        query: str,
        language: str | None = None,
        top: int = 5,
        memo: Vectors | None = None,
    ) -> list[Candidate]:
        return self._rank(query, language, top, memo)[0]

    def _rank(
        self, query: str, language: str | None, top: int, memo: Vectors | None
    ) -> tuple[list[Candidate], float]:
        """The candidates, and the query's cosine to the nearest out-of-scope example."""
        idx = self._language_index(language)
        if idx is None or not idx.entries or not query.strip():
            return [], -1.0
        cfg = self.config
        cal = self._calibration(idx)
        vector = idx.query_vector(self._embed(for_embedding(query, idx.language), idx, memo))
        query = for_matching(query, idx.language)
        k = min(cfg.dense_k, len(idx.entries))
        sims, ids = idx.dense.search(vector[None, :], k)
        n_articles = len(idx.articles)
        dense = np.full(n_articles, -1.0, dtype=np.float32)
        valid = ids[0] >= 0
        entry_ids, entry_sims = ids[0][valid], sims[0][valid]
        weights = np.where(idx.entry_kind[entry_ids] == "passage", cfg.passage_weight, 1.0)
        np.maximum.at(
            dense, idx.entry_article[entry_ids], (entry_sims * weights).astype(np.float32)
        )
        lexical = np.zeros(n_articles, dtype=np.float32)
        lexical_weight = cfg.lexical_weights.get(idx.language, cfg.lexical_weight)
        if lexical_weight > 0:
            tokens = [t for t in lexical_tokens(query, idx.language) if t in idx.lexical.vocab_dict]
            if tokens:
                scores = idx.lexical.get_scores(tokens)
                np.maximum.at(lexical, idx.entry_article, scores.astype(np.float32))
        boosted = dense + lexical_bonus(lexical, lexical_weight, cfg.lexical_saturation)
        classifier = idx.learned.classifier if idx.learned is not None else None
        if classifier is not None and cfg.use_classifier and cal.weight > 0:
            proba = classifier.proba(vector[None, :])
            score = mix(proba, boosted[None, :], cal.weight, cal.temperature)[0]
        else:
            score = mix(np.zeros((1, n_articles)), boosted[None, :], 0.0, cal.temperature)[0]
        order = np.argsort(-score)[:top]
        candidates = [
            Candidate(idx.articles[i], float(score[i]), float(dense[i]), float(lexical[i]))
            for i in order
            if dense[i] >= 0 or lexical[i] > 0 or score[i] >= 0.01
        ]
        return candidates, idx.near_out_of_scope(vector)

    def _thresholds(self, cal: Calibration) -> tuple[float, float, float]:
        cfg = self.config
        answer = cfg.answer_threshold if cfg.answer_threshold is not None else cal.answer_threshold
        similarity = (
            cfg.answer_similarity if cfg.answer_similarity is not None else cal.answer_similarity
        )
        unknown = (
            cfg.clarify_threshold if cfg.clarify_threshold is not None else cal.unknown_similarity
        )
        return answer, similarity, unknown

    def decide(
        self,
        candidates: list[Candidate],
        language: str | None = None,
        near_out_of_scope: float = -1.0,
    ) -> Decision:
        """unknown: the best article is not even close (cosine below the calibrated floor);
        answer: confident (confidence - the best mixed score, or its margin over the second,
        as the CV chose - and cosine above the calibrated gate, and the best article holding at
        least half of the score); clarify: close but not sure, typically two similar articles
        sharing the score. A question that is not answered and lies closer to the out-of-scope
        examples than to its best article (by the calibrated margin) is unknown, not clarify."""
        cal = self._calibration(self._language_index(language))
        answer, similarity, unknown = self._thresholds(cal)
        if not candidates or max(candidates[0].dense, 0.0) < unknown:
            return "unknown"
        first = candidates[0]
        second = candidates[1].score if len(candidates) > 1 else 0.0
        scores = np.array([[c.score for c in candidates]])
        if (
            float(confidence(scores, cal.confidence)[0]) >= answer
            and first.score >= MIN_ANSWER_SHARE
            and first.dense >= similarity
            and first.score - second >= self.config.margin
        ):
            return "answer"
        if self._out_of_scope(candidates, near_out_of_scope, cal):
            return "unknown"
        return "clarify"

    @staticmethod
    def _out_of_scope(
        candidates: list[Candidate], near_out_of_scope: float, cal: Calibration
    ) -> bool:
        closest = max(max((c.dense for c in candidates), default=0.0), 0.0)
        return near_out_of_scope - closest >= cal.oos_margin

    def _search_one(
        self, query: str, language: str | None, top: int, memo: Vectors | None = None
    ) -> Retrieval:
        candidates, near_oos = self._rank(query, language, top, memo)
        idx = self._language_index(language)
        lang = idx.language if idx else (language or self.default_language)
        decision = self.decide(candidates, language, near_oos)
        near = self._out_of_scope(candidates, near_oos, self._calibration(idx))
        return Retrieval(decision, candidates, lang, near)

    def search(self, query: str, language: str | None = None, top: int = 5) -> Retrieval:
        """Search the language's articles; when they give no confident answer, the next
        languages of its fallback chain (bs → hr → sr → default) may answer, if they are
        confident and the question is not nearer their out-of-scope examples than their
        articles (a sibling's confident answer to "weather in Split this weekend?" is a false
        likeness). A language whose chain is only itself (English) searches once."""
        memo: Vectors = {}
        first = self._search_one(query, language, top, memo)
        if first.decision == "answer":
            return first
        for lang in fallback_chain(language, self.default_language):
            if lang == first.language or lang not in self.index.by_language:
                continue
            other = self._search_one(query, lang, top, memo)
            if other.decision == "answer" and not other.near_out_of_scope:
                return other
        return first

    def clarify_options(self, retrieval: Retrieval, limit: int = 2) -> list[Candidate]:
        """The close candidates worth offering as buttons: not "unknown"-far, and holding a
        real share of the score (at least a quarter of the best one's)."""
        _, _, unknown = self._thresholds(
            self._calibration(self._language_index(retrieval.language))
        )
        best = retrieval.candidates[0].score if retrieval.candidates else 0.0
        options = [
            c for c in retrieval.candidates[:limit] if c.dense >= unknown and c.score >= 0.25 * best
        ]
        return options or retrieval.candidates[:1]
