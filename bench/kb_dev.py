"""Benchmark: the demo knowledge base on the development set of issue 9
(bench/data/kb_dev.json: customer-style questions written apart from the articles' example
questions, 4 per article per language, plus 10 out-of-scope ones per language), searched one
at a time exactly as the bot does (`supportbot kb eval`'s code: the query's language, its
fallback chain, the models of EMBEDDING_MODELS).

Per language: top-1, top-3, answered share and precision, out-of-scope `unknown`, clarify
share, p50/p95 latency. Writes bench/results/kb_dev.json. Tune only on this set and on the
articles' own questions, never on held-out data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import load_settings  # noqa: E402
from knowledge_base.eval import Query, evaluate  # noqa: E402

DATA = ROOT / "bench" / "data" / "kb_dev.json"
OUT = ROOT / "bench" / "results" / "kb_dev.json"
GOALS = {  # issue 9, per non-English language
    "top1_accuracy": 0.80,
    "answered_accuracy": 0.50,
    "answered_precision": 0.95,
    "oos_unknown": 0.80,
}


def read(path: Path) -> list[Query]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Query(q["text"], q["expected"], q.get("language")) for q in data["queries"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--articles", type=Path, default=ROOT / "knowledge_base" / "articles")
    parser.add_argument("--models", help="EMBEDDING_MODELS (default: the setting)")
    parser.add_argument("--languages", help="only these, comma-separated")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    settings = load_settings()
    queries = read(args.data)
    if args.languages:
        keep = set(args.languages.split(","))
        queries = [q for q in queries if q.language in keep]
    models = args.models if args.models is not None else settings.embedding_models
    result = evaluate(
        args.articles,
        queries,
        settings.embedding_model,
        onnx_dir=settings.onnx_dir,
        models=models,
        default_language=settings.default_language,
    )
    by_language = result["by_language"]
    assert isinstance(by_language, dict)
    keys = (
        "top1_accuracy",
        "top3_recall",
        "answered_accuracy",
        "answered_precision",
        "oos_unknown",
        "clarify_share",
        "p50_ms",
        "p95_ms",
    )
    print(f"{'lang':8}" + "".join(f"{k[:12]:>13}" for k in keys))
    for lang, row in [*by_language.items(), ("all", result)]:
        print(f"{lang:8}" + "".join(f"{row[k]!s:>13}" for k in keys))
    out = {"data": str(args.data.relative_to(ROOT)), "models": models, "goals": GOALS, **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
