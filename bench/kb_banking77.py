"""Benchmark: the "banking77-10shot" protocol of ../shared/datasets/README.md.

Builds 77 articles (first 10 rows of each category in train.csv, in file order, as example
questions), uses every other train.csv row as an in-scope query and CLINC150's oos_dev as
out-of-scope queries, runs `supportbot kb eval`, prints a table and writes
bench/results/kb_banking77.json.

Data: BANKING77 (Casanueva et al., 2020, CC BY 4.0); CLINC150 (Larson et al., 2019, CC BY 3.0).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_base.loader import load_articles  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
SHOTS = 10
TARGETS = {  # the targets: (comparison, value)
    "top1_accuracy": (">=", 0.90),
    "oos_rejection": (">=", 0.95),
    "answered_precision": (">=", 0.97),
    "answered_accuracy": (">=", 0.85),
    "p95_ms": ("<=", 25.0),
    "index_build_s": ("<=", 60.0),
}


def article_id(category: str) -> str:
    """The category name as an article id; ids are slugs, so "reverted_card_payment?" loses
    its question mark (without this that article would be skipped and its queries all lost)."""
    return re.sub(r"[^a-z0-9_\-]", "", category.lower())


def build(workdir: Path, datasets: Path, limit: int | None) -> tuple[Path, Path]:
    rows = []
    with (datasets / "banking77" / "train.csv").open(newline="", encoding="utf-8") as f:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(f)]
    examples: dict[str, list[str]] = defaultdict(list)
    queries = []
    for text, category in rows:
        if len(examples[category]) < SHOTS:
            examples[category].append(text)
        else:
            queries.append({"text": text, "expected": article_id(category)})
    if len({article_id(c) for c in examples}) != len(examples):
        raise SystemExit("two categories map to the same article id")
    kb = workdir / "kb" / "en"
    kb.mkdir(parents=True)
    for category, questions in examples.items():
        front = {
            "id": article_id(category),
            "title": category.replace("_", " ").capitalize(),
            "language": "en",
            "questions": questions,
        }
        body = f"This is the answer about {category.replace('_', ' ')}."
        (kb / f"{article_id(category)}.md").write_text(f"---\n{json.dumps(front)}\n---\n{body}\n")
    with (datasets / "clinc150" / "oos_dev.jsonl").open(encoding="utf-8") as f:
        oos = [{"text": json.loads(line)["text"], "expected": None} for line in f if line.strip()]
    if limit:
        queries = queries[:: max(1, len(queries) // limit)][:limit]
    loaded = load_articles(workdir / "kb")
    if loaded.errors or len(loaded.articles) != len(examples):
        raise SystemExit(f"the benchmark's own articles do not load: {loaded.errors}")
    path = workdir / "queries.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in queries + oos) + "\n")
    return workdir / "kb", path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--limit", type=int, help="use only N in-scope queries (quick look)")
    parser.add_argument("--out", type=Path, help="default bench/results/kb_banking77[-int8].json")
    parser.add_argument("--quantize", action="store_true", help="int8 embedding model")
    args = parser.parse_args()
    suffix = "-int8" if args.quantize else ""
    args.out = args.out or ROOT / "bench" / "results" / f"kb_banking77{suffix}.json"
    with tempfile.TemporaryDirectory(prefix="banking77-") as tmp:
        kb, queries = build(Path(tmp), args.datasets, args.limit)
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "kb",
                "eval",
                "--kb",
                str(kb),
                "--queries",
                str(queries),
                *(["--quantize"] if args.quantize else []),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout)
        return done.returncode
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result_out = {
        "protocol": "banking77-10shot",
        "dev": True,
        "quantized": args.quantize,
        "wall_s": round(elapsed, 1),
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result_out, indent=2) + "\n")
    print(f"\n{'metric':<22}{'value':>10}   target")
    for key, value in result.items():
        target = ""
        if key in TARGETS:
            op, goal = TARGETS[key]
            met = value >= goal if op == ">=" else value <= goal
            target = f"{op} {goal:<6} {'met' if met else 'NOT met'}"
        print(f"{key:<22}{value!s:>10}   {target}")
    print(f"\nwritten to {args.out}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
