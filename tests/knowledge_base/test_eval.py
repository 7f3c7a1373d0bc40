"""`supportbot kb eval` and the banking77 benchmark's own knowledge base."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

from bot.settings import ROOT, Settings
from knowledge_base.eval import Query, evaluate
from knowledge_base.loader import load_articles
from tests.conftest import DEMO_ARTICLES


def test_eval_reports_quality_latency_and_build_time(
    base_settings: Settings, tmp_path: Path
) -> None:
    shutil.copytree(DEMO_ARTICLES / "en", tmp_path / "en")  # one language: a quick build
    queries = [
        Query("I can't remember my password", "reset-password"),
        Query("how do I reset my password", "reset-password"),
        Query("what is the capital of Mongolia", None),
    ]
    result = evaluate(
        tmp_path,
        queries,
        base_settings.embedding_model,
        onnx_dir=base_settings.onnx_dir,
    )
    assert result["queries"] == 3 and result["in_scope"] == 2 and result["out_of_scope"] == 1
    assert result["top1_accuracy"] == 1.0
    assert result["oos_rejection"] == 1.0
    assert result["runtime"] == "onnx"
    assert 0 < float(result["p50_ms"]) <= float(result["p95_ms"])
    assert float(result["index_build_s"]) > 0


def _benchmark_module():  # type: ignore[no-untyped-def]
    path = ROOT / "bench" / "kb_banking77.py"
    spec = importlib.util.spec_from_file_location("kb_banking77", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_keeps_every_category_including_odd_names(tmp_path: Path) -> None:
    """BANKING77 has a category named "reverted_card_payment?": its article must load and its
    queries must expect that article, or the benchmark silently counts them all wrong."""
    datasets = tmp_path / "datasets"
    (datasets / "banking77").mkdir(parents=True)
    (datasets / "clinc150").mkdir()
    with (datasets / "banking77" / "train.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        for category in ("card_arrival", "reverted_card_payment?"):
            for n in range(12):
                writer.writerow([f"question {n} about {category}", category])
    (datasets / "clinc150" / "oos_dev.jsonl").write_text('{"text": "book a flight"}\n')
    bench = _benchmark_module()
    kb, queries_file = bench.build(tmp_path / "work", datasets, None)
    loaded = load_articles(kb)
    ids = {a.id for a in loaded.articles}
    assert not loaded.errors and ids == {"card_arrival", "reverted_card_payment"}
    queries = [json.loads(line) for line in queries_file.read_text().splitlines()]
    assert len(queries) == 2 * 2 + 1  # rows after the first 10 of each category, + 1 OOS
    assert {q["expected"] for q in queries} == ids | {None}
