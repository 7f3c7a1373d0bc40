"""The searchable index: dense vectors in FAISS plus a BM25 lexical index, one per language.

Built from articles; vectors come from an on-disk cache keyed by text hash, so rebuilding after
a one-article change embeds only that article's texts.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from knowledge_base.classifier import LEXICAL_WEIGHTS, Learned, learn
from knowledge_base.embedder import Embedder, EmbeddingCache, text_key
from knowledge_base.loader import Article, ArticleError, load_articles
from knowledge_base.normalize import for_matching

HNSW_ABOVE = 20_000  # entries; exact search below, HNSW graph above
PASSAGE_WORDS = 80
TOKEN = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def passages(article: Article) -> list[str]:
    """Split the answer into paragraph-sized passages, each prefixed with the title."""
    chunks: list[str] = []
    current: list[str] = []
    for para in re.split(r"\n\s*\n", article.body):
        words = para.split()
        if current and len(current) + len(words) > PASSAGE_WORDS:
            chunks.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        chunks.append(" ".join(current))
    return [f"{article.title}: {c}" for c in chunks]


@dataclass(frozen=True)
class Entry:
    article: int  # position in LanguageIndex.articles
    kind: str  # title | question | passage
    text: str


@dataclass
class LanguageIndex:
    language: str
    articles: list[Article]
    entries: list[Entry]
    vectors: np.ndarray
    learned: Learned | None = None  # classifier + CV-chosen thresholds (knowledge_base.classifier)
    dense: faiss.Index = field(init=False)
    lexical: bm25s.BM25 = field(init=False)
    entry_article: np.ndarray = field(init=False)
    entry_kind: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n, dim = self.vectors.shape
        if n > HNSW_ABOVE:
            hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efSearch = 128
            index: faiss.Index = hnsw
        else:
            index = faiss.IndexFlatIP(dim)
        if n:
            index.add(self.vectors)
        self.dense = index
        self.lexical = bm25s.BM25()
        self.lexical.index([tokenize(e.text) for e in self.entries] or [[""]], show_progress=False)
        self.entry_article = np.array([e.article for e in self.entries], dtype=np.int64)
        self.entry_kind = np.array([e.kind for e in self.entries])

    @property
    def index_type(self) -> str:
        return "hnsw" if isinstance(self.dense, faiss.IndexHNSWFlat) else "flat"


def entries_for(articles: list[Article]) -> list[Entry]:
    """Index entries, in the language's matching form (e.g. Serbian Cyrillic as Latin)."""
    entries: list[Entry] = []
    for i, article in enumerate(articles):
        lang = article.language
        entries.append(Entry(i, "title", for_matching(article.title, lang)))
        entries.extend(Entry(i, "question", for_matching(q, lang)) for q in article.questions)
        entries.extend(Entry(i, "passage", for_matching(p, lang)) for p in passages(article))
    return entries


def _learn(
    language: str, entries: list[Entry], vectors: np.ndarray, cache_dir: Path | None
) -> Learned:
    """Classifier over titles + example questions, thresholds by CV on the same examples."""
    kinds = np.array([e.kind for e in entries])
    labels = np.array([e.article for e in entries], dtype=np.int64)
    examples = kinds != "passage"
    n_articles = int(labels.max()) + 1 if len(labels) else 0
    texts = [e.text for e in entries]
    example_texts = [t for t, keep in zip(texts, examples, strict=True) if keep]
    fixed_texts = [t for t, keep in zip(texts, examples, strict=True) if not keep]
    example_labels, fixed_labels = labels[examples], labels[~examples]

    def lexical(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """BM25 of each held-out example against the fold's training examples + passages,
        the best entry per article - as the retriever scores a query."""
        corpus = [t for t, keep in zip(example_texts, train, strict=True) if keep] + fixed_texts
        owners = np.concatenate([example_labels[train], fixed_labels])
        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) for t in corpus] or [[""]], show_progress=False)
        held_out = [t for t, keep in zip(example_texts, test, strict=True) if keep]
        out = np.zeros((len(held_out), n_articles), dtype=np.float32)
        for row, text in enumerate(held_out):
            tokens = [t for t in tokenize(text) if t in bm25.vocab_dict]
            if tokens:
                np.maximum.at(out[row], owners, bm25.get_scores(tokens).astype(np.float32))
        return out

    weight = LEXICAL_WEIGHTS.get(language.split("-")[0], 0.0)
    return learn(
        vectors[examples],
        example_labels,
        vectors[~examples],
        fixed_labels,
        n_articles,
        cache_dir=cache_dir,
        name=language,
        lexical=lexical if weight > 0 else None,
        lexical_weight=weight,
    )


@dataclass
class BuildReport:
    articles: int
    entries: int
    embedded: int  # texts that had to be embedded (not in the cache)
    changed: list[str]  # article ids whose content hash changed or are new
    removed: list[str]
    seconds: float
    errors: list[ArticleError]


class KnowledgeIndex:
    def __init__(self, by_language: dict[str, LanguageIndex], errors: list[ArticleError]) -> None:
        self.by_language = by_language
        self.errors = errors

    @property
    def articles(self) -> list[Article]:
        return [a for idx in self.by_language.values() for a in idx.articles]

    def __len__(self) -> int:
        return sum(len(idx.articles) for idx in self.by_language.values())

    @classmethod
    def build(
        cls,
        articles: list[Article],
        embedder: Embedder,
        cache_dir: Path | None = None,
        errors: list[ArticleError] | None = None,
        progress: bool = False,
    ) -> tuple[KnowledgeIndex, BuildReport]:
        started = time.perf_counter()
        cache = EmbeddingCache(cache_dir or Path("/nonexistent"), embedder.cache_name)
        manifest_file = cache_dir / "manifest.json" if cache_dir else None
        old: dict[str, str] = {}
        if manifest_file and manifest_file.exists():
            old = json.loads(manifest_file.read_text()).get("articles", {})
        grouped: dict[str, list[Article]] = {}
        for article in articles:
            grouped.setdefault(article.language, []).append(article)
        by_language: dict[str, LanguageIndex] = {}
        embedded = 0
        all_keys: set[str] = set()
        for language, group in sorted(grouped.items()):
            entries = entries_for(group)
            texts = [e.text for e in entries]
            vectors = cache.embed(embedder, texts, progress=progress)
            embedded += cache.last_embedded
            all_keys.update(text_key(t) for t in texts)
            by_language[language] = LanguageIndex(
                language, group, entries, vectors, _learn(language, entries, vectors, cache_dir)
            )
        new = {f"{a.language}/{a.id}": a.content_hash for a in articles}
        report = BuildReport(
            articles=len(articles),
            entries=sum(len(i.entries) for i in by_language.values()),
            embedded=embedded,
            changed=sorted(k for k, h in new.items() if old.get(k) != h),
            removed=sorted(k for k in old if k not in new),
            seconds=time.perf_counter() - started,
            errors=list(errors or []),
        )
        if cache_dir and manifest_file:
            cache.save(keep=all_keys)
            manifest_file.write_text(
                json.dumps({"model": embedder.cache_name, "articles": new}, indent=1)
            )
        return cls(by_language, list(errors or [])), report

    @classmethod
    def from_directory(
        cls, root: Path, embedder: Embedder, cache_dir: Path | None = None, progress: bool = False
    ) -> tuple[KnowledgeIndex, BuildReport]:
        loaded = load_articles(root)
        return cls.build(loaded.articles, embedder, cache_dir, loaded.errors, progress)
