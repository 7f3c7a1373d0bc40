"""`supportbot kb eval`: retrieval quality and latency on labelled queries.

The keys of the result are a public contract (see the README's "Quality" section).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from knowledge_base.embedder import Embedders
from knowledge_base.index import KnowledgeIndex
from knowledge_base.loader import load_articles
from knowledge_base.retriever import Retriever, RetrieverConfig

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class Query:
    text: str
    expected: str | None
    language: str | None = None  # the conversation's tag (en, bs, hr, sr, sr-Cyrl, ru, fa)


def read_queries(path: Path) -> list[Query]:
    """JSON lines `{"text", "expected": id|null, "language"?: tag}`."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            text, expected = data["text"], data["expected"]
            language = data.get("language")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{'text', 'expected'}}: {exc}") from exc
        if language is not None and not (
            isinstance(language, str) and LANGUAGE_TAG.match(language)
        ):
            raise ValueError(f"{path}:{number}: 'language' must be a tag such as hr or sr-Cyrl")
        queries.append(
            Query(str(text), None if expected is None else str(expected), language or None)
        )
    return queries


@dataclass
class Outcome:
    expected: str | None
    ranked: list[str]
    decision: str
    ms: float


def summarize(outcomes: list[Outcome]) -> dict[str, float | int]:
    """The quality keys of `kb eval` over some queries; `oos_unknown`: share of out-of-scope
    queries that got `unknown` (not a clarify question, not an answer); `clarify_share`: share
    of all the queries that got `clarify`."""
    in_scope = [o for o in outcomes if o.expected is not None]
    oos = [o for o in outcomes if o.expected is None]
    answered = [o for o in outcomes if o.decision == "answer"]
    right = [o for o in in_scope if o.decision == "answer" and o.ranked[:1] == [o.expected]]
    latencies = [o.ms for o in outcomes]

    def share(part: int, whole: int) -> float:
        return round(part / whole, 4) if whole else 0.0

    return {
        "queries": len(outcomes),
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "top1_accuracy": share(sum(o.ranked[:1] == [o.expected] for o in in_scope), len(in_scope)),
        "top3_recall": share(sum(o.expected in o.ranked[:3] for o in in_scope), len(in_scope)),
        "answered_accuracy": share(len(right), len(in_scope)),
        "answered_precision": share(len(right), len(answered)),
        "oos_rejection": share(sum(o.decision != "answer" for o in oos), len(oos)),
        "oos_unknown": share(sum(o.decision == "unknown" for o in oos), len(oos)),
        "clarify_share": share(sum(o.decision == "clarify" for o in outcomes), len(outcomes)),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "p95_ms": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
    }


def evaluate(
    kb_dir: Path,
    queries: list[Query],
    model: str,
    config: RetrieverConfig | None = None,
    quantize: bool = False,
    runtime: str = "onnx",
    onnx_dir: Path | None = None,
    models: str = "",
    default_language: str = "en",
) -> dict[str, object]:
    """Build a temporary index from `kb_dir` and search every query one at a time, as the bot
    would for the query's language (its fallback chain included; no language: the default).
    `models`: which embedding model serves which language (EMBEDDING_MODELS); empty: `model`
    for all."""
    loaded = load_articles(kb_dir)
    for error in loaded.errors:
        print(f"skipped: {error}", file=sys.stderr)
    started = time.perf_counter()
    embedders = Embedders.from_spec(
        models or model, model, quantize, "torch" if runtime == "torch" else "onnx", onnx_dir
    )
    load_seconds = time.perf_counter() - started  # includes the one-off ONNX export, if any
    print(f"embedding model runs on {embedders.runtime}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:  # never the bot's own index
        started = time.perf_counter()
        index, _ = KnowledgeIndex.build(loaded.articles, embedders, Path(tmp), progress=True)
        build_seconds = time.perf_counter() - started
    print(f"index built in {build_seconds:.1f} s", file=sys.stderr)
    for language, language_index in index.by_language.items():
        if language_index.learned is not None:  # thresholds chosen by CV on the KB's questions
            calibration = language_index.learned.calibration
            print(f"calibration [{language}]: {calibration}", file=sys.stderr)
    retriever = Retriever(index, embedders, config, default_language)
    retriever.search("warm up")
    for language in {q.language for q in queries if q.language}:
        retriever.search("warm up", language)
    outcomes: dict[str, list[Outcome]] = {}
    for query in tqdm(queries, desc="queries", file=sys.stderr, mininterval=1.0):
        t0 = time.perf_counter()
        result = retriever.search(query.text, query.language)
        ms = (time.perf_counter() - t0) * 1000
        ranked = [c.article.id for c in result.candidates]
        outcome = Outcome(query.expected, ranked, result.decision, ms)
        outcomes.setdefault(query.language or default_language, []).append(outcome)
    extra = {
        "index_build_s": round(build_seconds, 1),
        "model_load_s": round(load_seconds, 1),
        "runtime": embedders.runtime,
    }
    everything = [o for group in outcomes.values() for o in group]
    return {
        **summarize(everything),
        **extra,
        "by_language": {
            lang: {**summarize(group), **extra} for lang, group in sorted(outcomes.items())
        },
    }
