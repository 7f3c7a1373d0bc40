"""Benchmark: the demo knowledge base in Bosnian, Croatian, Serbian (Latin and Cyrillic),
Russian and Persian, with held-out questions (bench/data/kb_multilingual.json, written apart
from the articles' example questions; some out of scope), one query at a time.

Per language: top-1 accuracy (in-scope), answered share and precision, out-of-scope
rejection, p50/p95 latency; and how often `bot.language` detects the question's language.
Writes bench/results/kb_multilingual.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.language import BCS, LanguageDetection, base  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from knowledge_base.embedder import Embedder  # noqa: E402
from knowledge_base.index import KnowledgeIndex  # noqa: E402
from knowledge_base.retriever import Retriever, RetrieverConfig  # noqa: E402

DATA = ROOT / "bench" / "data" / "kb_multilingual.json"
OUT_NAME = "kb_multilingual.json"
CYRILLIC = "абвгдђежзијклљмнњопрстћуфхцчџш"


def query_language(lang: str, text: str) -> str:
    """What the router would tag: Serbian in Cyrillic is `sr-Cyrl`."""
    return "sr-Cyrl" if lang == "sr" and any(c in CYRILLIC for c in text.lower()) else lang


def detected_right(lang: str, tag: str, detected: str | None) -> bool:
    if lang in BCS and tag != "sr-Cyrl":  # one family: any of bs/hr/sr is the right answer
        return base(detected) in BCS
    return detected == tag


def measure(retriever: Retriever, questions: list[tuple[str, str | None, str]]) -> dict[str, float]:
    in_scope = [q for q in questions if q[1] is not None]
    oos = [q for q in questions if q[1] is None]
    top1 = answered = answered_right = rejected = 0
    latencies = []
    for text, expected, tag in questions:
        started = time.perf_counter()
        result = retriever.search(text, tag)
        latencies.append((time.perf_counter() - started) * 1000)
        best = result.best.article.id if result.best else None
        if expected is not None and best == expected:
            top1 += 1
        if result.decision == "answer":
            answered += 1
            answered_right += best == expected
        elif expected is None:
            rejected += 1
    return {
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "top1_accuracy": round(top1 / max(len(in_scope), 1), 3),
        "answered_share": round(answered / max(len(questions), 1), 3),
        "answered_precision": round(answered_right / answered, 3) if answered else 1.0,
        "oos_rejection": round(rejected / max(len(oos), 1), 3),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--articles", type=Path, default=ROOT / "knowledge_base" / "articles")
    parser.add_argument("--lexical-weight", type=float, help="BM25 weight for every language")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / OUT_NAME)
    args = parser.parse_args()
    data = json.loads(args.data.read_text(encoding="utf-8"))
    settings = load_settings()
    embedder = Embedder(
        settings.embedding_model,
        False,
        "onnx",
        settings.onnx_dir,  # type: ignore[arg-type]
    )
    started = time.perf_counter()
    index, report = KnowledgeIndex.from_directory(args.articles, embedder)
    build_s = time.perf_counter() - started
    config = RetrieverConfig()
    if args.lexical_weight is not None:
        config = RetrieverConfig(lexical_weight=args.lexical_weight, lexical_weights={})
    retriever = Retriever(index, embedder, config, settings.default_language)
    retriever.search("warm up", "en")
    detector = LanguageDetection(settings.supported_languages, settings.default_language)
    results: dict[str, object] = {}
    detection_right = detection_total = 0
    for lang, rows in data.items():
        if lang.startswith("_"):
            continue
        questions = [(text, expected, query_language(lang, text)) for text, expected in rows]
        results[lang] = measure(retriever, questions)
        if lang == "sr":
            for script, tag in (("sr-Latn", "sr"), ("sr-Cyrl", "sr-Cyrl")):
                subset = [q for q in questions if q[2] == tag]
                results[script] = measure(retriever, subset)
        right = sum(detected_right(lang, tag, detector.detect(text)) for text, _, tag in questions)
        results[lang]["language_detection"] = round(right / len(questions), 3)  # type: ignore[index]
        detection_right += right
        detection_total += len(questions)
    summary = {
        "model": Path(settings.embedding_model).name,
        "articles_per_language": {k: len(v.articles) for k, v in index.by_language.items()},
        "lexical_weights": {"default": config.lexical_weight, **config.lexical_weights},
        "index_build_s": round(build_s, 1),
        "language_detection_accuracy": round(detection_right / max(detection_total, 1), 3),
        "languages": results,
    }
    print(
        f"{'language':10} {'top1':>6} {'answered':>9} {'precision':>9} {'oos rej':>8} "
        f"{'p95 ms':>7} {'detect':>7}"
    )
    for lang, r in results.items():
        assert isinstance(r, dict)
        print(
            f"{lang:10} {r['top1_accuracy']:6.3f} {r['answered_share']:9.3f} "
            f"{r['answered_precision']:9.3f} {r['oos_rejection']:8.3f} {r['p95_ms']:7.1f} "
            f"{r.get('language_detection', float('nan')):7.3f}"
        )
    print(f"language detection: {summary['language_detection_accuracy']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
