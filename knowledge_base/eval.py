"""`supportbot kb eval`: retrieval quality and latency on labelled queries.

The keys of the result are a public contract (see the README's "Quality" section).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex
from knowledge_base.loader import load_articles
from knowledge_base.retriever import Retriever, RetrieverConfig


@dataclass(frozen=True)
class Query:
    text: str
    expected: str | None


def read_queries(path: Path) -> list[Query]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            text, expected = data["text"], data["expected"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{'text', 'expected'}}: {exc}") from exc
        queries.append(Query(str(text), None if expected is None else str(expected)))
    return queries


def evaluate(
    kb_dir: Path,
    queries: list[Query],
    model: str,
    config: RetrieverConfig | None = None,
    quantize: bool = False,
    runtime: str = "onnx",
    onnx_dir: Path | None = None,
) -> dict[str, float | int | str]:
    loaded = load_articles(kb_dir)
    for error in loaded.errors:
        print(f"skipped: {error}", file=sys.stderr)
    started = time.perf_counter()
    embedder = Embedder(model, quantize, "torch" if runtime == "torch" else "onnx", onnx_dir)
    load_seconds = time.perf_counter() - started  # includes the one-off ONNX export, if any
    print(f"embedding model runs on {embedder.runtime}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:  # never the bot's own index
        started = time.perf_counter()
        index, _ = KnowledgeIndex.build(loaded.articles, embedder, Path(tmp), progress=True)
        build_seconds = time.perf_counter() - started
    print(f"index built in {build_seconds:.1f} s", file=sys.stderr)
    for language, language_index in index.by_language.items():
        if language_index.learned is not None:  # thresholds chosen by CV on the KB's questions
            calibration = language_index.learned.calibration
            print(f"calibration [{language}]: {calibration}", file=sys.stderr)
    retriever = Retriever(index, embedder, config)
    retriever.search("warm up")
    latencies, top1, top3, answered_right, answered, oos_rejected = [], 0, 0, 0, 0, 0
    in_scope = sum(1 for q in queries if q.expected is not None)
    for query in tqdm(queries, desc="queries", file=sys.stderr, mininterval=1.0):
        t0 = time.perf_counter()
        result = retriever.search(query.text)
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked = [c.article.id for c in result.candidates]
        did_answer = result.decision == "answer"
        answered += did_answer
        if query.expected is None:
            oos_rejected += not did_answer
            continue
        top1 += bool(ranked) and ranked[0] == query.expected
        top3 += query.expected in ranked[:3]
        answered_right += did_answer and ranked[0] == query.expected
    out_of_scope = len(queries) - in_scope

    def share(part: int, whole: int) -> float:
        return round(part / whole, 4) if whole else 0.0

    return {
        "queries": len(queries),
        "in_scope": in_scope,
        "out_of_scope": out_of_scope,
        "top1_accuracy": share(top1, in_scope),
        "top3_recall": share(top3, in_scope),
        "answered_accuracy": share(answered_right, in_scope),
        "answered_precision": share(answered_right, answered),
        "oos_rejection": share(oos_rejected, out_of_scope),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "p95_ms": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
        "index_build_s": round(build_seconds, 1),
        "model_load_s": round(load_seconds, 1),
        "runtime": embedder.runtime,
    }
