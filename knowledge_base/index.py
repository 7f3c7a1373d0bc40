"""The searchable index: dense vectors in FAISS plus a BM25 lexical index, one per language.

Built from articles; vectors come from a cache keyed by text hash (in memory between reloads,
on disk between runs), so rebuilding after a one-article change embeds only that article's
texts. A rebuild may start from the `previous` index: a language whose texts did not change is
reused as it is, and with `quick=True` a changed language keeps its previous calibration with a
freshly fitted classifier (a second or so) and an exact (flat) FAISS index even when large, and
is marked `pending`: its full calibration (tens of seconds) and HNSW graph (about 10 s for
60,000 entries) are made in the background (`LanguageIndex.finish`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from knowledge_base.classifier import (
    LEXICAL_WEIGHTS,
    MAX_CLASSIFIER_ARTICLES,
    MAX_CLASSIFIER_EXAMPLES,
    Calibration,
    Learned,
    fit_classifier,
    learn,
)
from knowledge_base.embedder import AnyEmbedder, Embedders, EmbeddingCache, text_key
from knowledge_base.loader import Article, ArticleError, load_articles
from knowledge_base.normalize import for_embedding, for_matching

HNSW_ABOVE = 20_000  # entries; exact search below, HNSW graph above
PASSAGE_WORDS = 80
TOKEN = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


# Languages whose words inflect (Slavic cases, Persian suffixes): BM25 also indexes each word's
# character n-grams, so "lozinku" meets "lozinka" and "заказа" meets "заказ".
CHAR_NGRAM_LANGUAGES = frozenset({"bs", "hr", "sr", "ru", "fa"})
CHAR_NGRAMS = (3, 5)  # shortest and longest n-gram


def lexical_tokens(text: str, language: str | None = None) -> list[str]:
    """BM25's tokens for `text` (already in its language's matching form): the words, plus for
    inflecting languages the character n-grams of every word of 4+ letters (marked ^ $ at the
    word's edges; the n-grams of a word keep it from outweighing a whole-word match)."""
    words = tokenize(text)
    lang = (language or "").split("-")[0].lower()
    if lang not in CHAR_NGRAM_LANGUAGES:
        return words
    low, high = CHAR_NGRAMS
    out = list(words)
    for word in words:
        if len(word) < 4:
            continue
        marked = f"^{word}$"
        for n in range(low, high + 1):
            out.extend("#" + marked[i : i + n] for i in range(len(marked) - n + 1))
    return out


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
    text: str  # the matching form (BM25)
    dense_text: str = ""  # what the embedding model sees (diacritics kept); "" = text

    @property
    def embedded(self) -> str:
        return self.dense_text or self.text


@dataclass
class LanguageIndex:
    language: str
    articles: list[Article]
    entries: list[Entry]
    vectors: np.ndarray
    learned: Learned | None = None  # classifier + CV-chosen thresholds (knowledge_base.classifier)
    center: np.ndarray | None = None  # subtracted from every vector (e5: see E5Embedder)
    model: str = ""  # the embedding model's cache name: the retriever embeds a query once per model
    oos_vectors: np.ndarray | None = None  # the out-of-scope examples (out_of_scope.yml)
    signature: str = ""  # hash of what the vectors and calibration are computed from
    provisional: bool = False  # `learned` is the quick one; the full calibration is pending
    exact: bool = False  # a flat FAISS index even above HNSW_ABOVE (the graph is made later)
    dense: faiss.Index = field(init=False)
    lexical: bm25s.BM25 = field(init=False)
    entry_article: np.ndarray = field(init=False)
    entry_kind: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n, dim = self.vectors.shape
        if n > HNSW_ABOVE and not self.exact:
            self.dense = _hnsw(self.vectors)
        else:
            self.dense = faiss.IndexFlatIP(dim)
            if n:
                self.dense.add(self.vectors)
        self.lexical = bm25s.BM25()
        self.lexical.index(
            [lexical_tokens(e.text, self.language) for e in self.entries] or [[""]],
            show_progress=False,
        )
        self.entry_article = np.array([e.article for e in self.entries], dtype=np.int64)
        self.entry_kind = np.array([e.kind for e in self.entries])

    def near_out_of_scope(self, vector: np.ndarray) -> float:
        """Cosine of a (centred) query vector to its nearest out-of-scope example; -1: none."""
        if self.oos_vectors is None or not len(self.oos_vectors):
            return -1.0
        return float((self.oos_vectors @ vector).max())

    def query_vector(self, vector: np.ndarray) -> np.ndarray:
        """A query's vector as this index compares it (centred like the entries, if they are)."""
        return vector if self.center is None else centre(vector[None, :], self.center)[0]

    @property
    def index_type(self) -> str:
        return "hnsw" if isinstance(self.dense, faiss.IndexHNSWFlat) else "flat"

    def with_articles(self, articles: list[Article]) -> LanguageIndex:
        """The same index (vectors, FAISS, BM25 shared) for articles with the same texts whose
        other fields (path, tags, handoff) may differ."""
        out = copy.copy(self)
        out.articles = articles
        return out

    @property
    def pending(self) -> bool:
        """Built the quick way: the full calibration or the HNSW graph is still to be made."""
        return self.provisional or (self.exact and len(self.entries) > HNSW_ABOVE)

    def finish(self, cache_dir: Path | None) -> Finish:
        """What the quick build left out (slow; run in the background): the full calibration
        (classifier + CV thresholds, cached on disk) and, for a large language, the HNSW graph."""
        learned = None
        if self.provisional:
            learned = _learn(self.language, self.entries, self.vectors, cache_dir, self.oos_vectors)
        dense = None
        if self.exact and len(self.entries) > HNSW_ABOVE:
            dense = _hnsw(self.vectors)
        return Finish(learned, dense)

    def with_finish(self, finish: Finish) -> LanguageIndex:
        out = copy.copy(self)
        if finish.learned is not None:
            out.learned, out.provisional = finish.learned, False
        if finish.dense is not None:
            out.dense, out.exact = finish.dense, False
        return out


@dataclass(frozen=True)
class Finish:
    """A pending language's full calibration and HNSW graph (None: was not pending)."""

    learned: Learned | None
    dense: faiss.Index | None


def _hnsw(vectors: np.ndarray) -> faiss.Index:
    hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efSearch = 128
    hnsw.add(vectors)
    return hnsw


def centre(vectors: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Subtract the mean vector and re-normalise (cosine = dot product again)."""
    shifted = vectors - center[None, :]
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return (shifted / np.maximum(norms, 1e-12)).astype(np.float32)


OUT_OF_SCOPE = Path(__file__).with_name("out_of_scope.yml")


def out_of_scope_examples(language: str, every_language: bool) -> list[str]:
    """Questions no article answers (knowledge_base/out_of_scope.yml), in `language`'s matching
    form: its own, or those of every language for a multilingual model; English when the
    language has none."""
    import yaml

    data = yaml.safe_load(OUT_OF_SCOPE.read_text(encoding="utf-8")) or {}
    base = language.split("-")[0].lower()
    if every_language:
        texts = [str(t) for values in data.values() for t in values or []]
    else:
        texts = [str(t) for t in data.get(base) or data.get("en") or []]
    return [for_embedding(t, language) for t in texts]


def entries_for(articles: list[Article]) -> list[Entry]:
    """Index entries, in the language's matching form (e.g. Serbian Cyrillic as Latin)."""
    entries: list[Entry] = []
    for i, article in enumerate(articles):
        lang = article.language
        texts = [
            *[("title", article.title)],
            *[("question", q) for q in article.questions],
            *[("passage", p) for p in passages(article)],
        ]
        entries.extend(
            Entry(i, kind, for_matching(text, lang), for_embedding(text, lang))
            for kind, text in texts
        )
    return entries


def _learn(
    language: str,
    entries: list[Entry],
    vectors: np.ndarray,
    cache_dir: Path | None,
    oos_vectors: np.ndarray | None = None,
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
        bm25.index([lexical_tokens(t, language) for t in corpus] or [[""]], show_progress=False)
        held_out = [t for t, keep in zip(example_texts, test, strict=True) if keep]
        out = np.zeros((len(held_out), n_articles), dtype=np.float32)
        for row, text in enumerate(held_out):
            tokens = [t for t in lexical_tokens(text, language) if t in bm25.vocab_dict]
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
        oos_vectors=oos_vectors,
    )


def signature(model: str, entries: list[Entry], oos_texts: list[str]) -> str:
    """What a language's vectors and calibration depend on: the model, each entry's article,
    kind and texts, and the out-of-scope examples."""
    digest = hashlib.sha256(json.dumps([model, VERSION_SALT, oos_texts]).encode())
    for e in entries:
        digest.update(json.dumps([e.article, e.kind, e.text, e.dense_text]).encode())
    return digest.hexdigest()[:20]


VERSION_SALT = 1


def quick_learn(entries: list[Entry], vectors: np.ndarray, previous: Learned | None) -> Learned:
    """A calibration that is ready in about a second: the previous one's mixing weights and
    thresholds (or the defaults), with a classifier fitted on the new examples."""
    kinds = np.array([e.kind for e in entries])
    labels = np.array([e.article for e in entries], dtype=np.int64)
    examples = kinds != "passage"
    n_articles = int(labels.max()) + 1 if len(labels) else 0
    small = n_articles <= MAX_CLASSIFIER_ARTICLES and int(examples.sum()) <= MAX_CLASSIFIER_EXAMPLES
    if not small:
        return Learned(None, Calibration())  # what the full calibration gives a large KB
    calibration = previous.calibration if previous is not None else Calibration()
    classifier = None
    if calibration.weight > 0 and examples.any():
        classifier = fit_classifier(vectors[examples], labels[examples], n_articles)
    return Learned(classifier, calibration)


def needs_calibration(entries: list[Entry]) -> bool:
    """False when the full calibration is the fixed default anyway (a large language)."""
    examples = sum(e.kind != "passage" for e in entries)
    n_articles = len({e.article for e in entries})
    return n_articles <= MAX_CLASSIFIER_ARTICLES and examples <= MAX_CLASSIFIER_EXAMPLES


@dataclass
class BuildReport:
    articles: int
    entries: int
    embedded: int  # texts that had to be embedded (not in the cache)
    changed: list[str]  # article ids whose content hash changed or are new
    removed: list[str]
    seconds: float
    errors: list[ArticleError]
    reused: list[str] = field(default_factory=list)  # languages taken from the previous index
    provisional: list[str] = field(default_factory=list)  # languages with work still pending


class KnowledgeIndex:
    def __init__(
        self,
        by_language: dict[str, LanguageIndex],
        errors: list[ArticleError],
        manifest: dict[str, object] | None = None,
        cache_keys: dict[str, set[str]] | None = None,
    ) -> None:
        self.by_language = by_language
        self.errors = errors
        self.manifest = manifest or {}  # what `persist` writes: models and article hashes
        self.cache_keys = cache_keys or {}  # model -> text keys in use (the cache keeps only them)

    @property
    def provisional(self) -> list[str]:
        return [lang for lang, idx in self.by_language.items() if idx.pending]

    def finished(self, done: dict[str, Finish]) -> KnowledgeIndex:
        """This index with each pending language whose `Finish` is in `done` (by signature)
        finished; the same object if none is."""
        ready = {
            lang: idx.with_finish(done[idx.signature])
            for lang, idx in self.by_language.items()
            if idx.pending and idx.signature in done
        }
        if not ready:
            return self
        return KnowledgeIndex(
            {**self.by_language, **ready}, self.errors, self.manifest, self.cache_keys
        )

    def persist(self, cache_dir: Path, caches: dict[str, EmbeddingCache]) -> None:
        """Write the embedding caches (only the vectors still in use) and the manifest."""
        for name, cache in list(caches.items()):
            cache.save(keep=self.cache_keys.get(name, set()))
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / "manifest.json").write_text(json.dumps(self.manifest, indent=1))

    @property
    def articles(self) -> list[Article]:
        return [a for idx in self.by_language.values() for a in idx.articles]

    def __len__(self) -> int:
        return sum(len(idx.articles) for idx in self.by_language.values())

    @classmethod
    def build(
        cls,
        articles: list[Article],
        embedder: AnyEmbedder | Embedders,
        cache_dir: Path | None = None,
        errors: list[ArticleError] | None = None,
        progress: bool = False,
        *,
        previous: KnowledgeIndex | None = None,
        caches: dict[str, EmbeddingCache] | None = None,
        quick: bool = False,
        finished: dict[str, Finish] | None = None,
        persist: bool = True,
    ) -> tuple[KnowledgeIndex, BuildReport]:
        """`previous`: reuse its languages whose texts did not change; `caches`: embedding
        caches kept in memory between builds (filled here); `quick`: a changed language gets
        `quick_learn` instead of the full calibration and an exact FAISS index, unless
        `finished` (by signature) already has them; `persist`: write caches and manifest to
        `cache_dir` now."""
        started = time.perf_counter()
        embedders = embedder if isinstance(embedder, Embedders) else Embedders.single(embedder)
        caches = {} if caches is None else caches
        finished = finished or {}
        manifest_file = cache_dir / "manifest.json" if cache_dir else None
        old: dict[str, str] = {}
        if previous is not None:
            old = {f"{a.language}/{a.id}": a.content_hash for a in previous.articles}
        elif manifest_file and manifest_file.exists():
            old = json.loads(manifest_file.read_text()).get("articles", {})
        grouped: dict[str, list[Article]] = {}
        for article in articles:
            grouped.setdefault(article.language, []).append(article)
        by_language: dict[str, LanguageIndex] = {}
        embedded = 0
        all_keys: dict[str, set[str]] = {}
        models: dict[str, str] = {}
        reused: list[str] = []
        for language, group in sorted(grouped.items()):
            model = embedders.for_language(language)
            name = models[language] = model.cache_name
            cache = caches.get(name) or EmbeddingCache(cache_dir or Path("/nonexistent"), name)
            caches[name] = cache
            entries = entries_for(group)
            texts = [e.embedded for e in entries]
            multilingual = bool(getattr(model, "centered", False))
            oos_texts = out_of_scope_examples(language, multilingual)
            all_keys.setdefault(name, set()).update(text_key(t) for t in [*texts, *oos_texts])
            sig = signature(name, entries, oos_texts)
            before = previous.by_language.get(language) if previous is not None else None
            if before is not None and before.signature == sig:
                reused.append(language)
                same = before.with_articles(group)
                if same.pending and sig in finished:
                    same = same.with_finish(finished[sig])
                by_language[language] = same
                continue
            vectors = cache.embed(model, texts, progress=progress)
            embedded += cache.last_embedded
            oos = cache.embed(model, oos_texts)
            center = None
            if multilingual and len(vectors):
                center = vectors.mean(axis=0).astype(np.float32)
                vectors, oos = centre(vectors, center), centre(oos, center)
            done = finished.get(sig)
            provisional = False
            if done is not None and done.learned is not None:
                result = done.learned
            elif quick and needs_calibration(entries):
                result = quick_learn(entries, vectors, before.learned if before else None)
                provisional = True
            else:
                result = _learn(language, entries, vectors, cache_dir, oos)
            built = LanguageIndex(
                language,
                group,
                entries,
                vectors,
                result,
                center,
                name,
                oos,
                sig,
                provisional,
                exact=quick and (done is None or done.dense is None),
            )
            by_language[language] = built.with_finish(done) if done is not None else built
        new = {f"{a.language}/{a.id}": a.content_hash for a in articles}
        index = cls(by_language, list(errors or []), {"models": models, "articles": new}, all_keys)
        report = BuildReport(
            articles=len(articles),
            entries=sum(len(i.entries) for i in by_language.values()),
            embedded=embedded,
            changed=sorted(k for k, h in new.items() if old.get(k) != h),
            removed=sorted(k for k in old if k not in new),
            seconds=time.perf_counter() - started,
            errors=list(errors or []),
            reused=reused,
            provisional=index.provisional,
        )
        if persist and cache_dir:
            index.persist(cache_dir, caches)
        return index, report

    @classmethod
    def from_directory(
        cls,
        root: Path,
        embedder: AnyEmbedder | Embedders,
        cache_dir: Path | None = None,
        progress: bool = False,
    ) -> tuple[KnowledgeIndex, BuildReport]:
        loaded = load_articles(root)
        return cls.build(loaded.articles, embedder, cache_dir, loaded.errors, progress)
