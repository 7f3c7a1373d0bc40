"""Rasa NLU on held-out examples, per language: does a product question ever become a request
for a person (or a complaint) because of the language it is written in?

Runs Rasa's own `rasa test nlu` (in .venv-rasa) on bench/data/nlu_heldout.yml with a trained
model (the newest in var/models unless --model), then groups its predictions by the language
each block of the held-out file carries as metadata. Writes bench/results/nlu_heldout.json:
per language the accuracy, how questions were read (question / nlu_fallback, both answered
from the knowledge base; ask_human and complain, both a handoff), and the confusion between
`question`, `ask_human` and `complain`.

    python bench/nlu_eval.py [--model var/models/X.tar.gz] [--label after]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "bench" / "data" / "nlu_heldout.yml"
RESULTS = ROOT / "bench" / "results" / "nlu_heldout.json"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
HANDOFF = {"ask_human", "complain"}
TO_KB = {"question", "nlu_fallback"}  # both rules run action_answer_from_kb


def languages_of(path: Path) -> dict[tuple[str, str], str]:
    """(intent, text) → language, from each block's metadata."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mapping: dict[tuple[str, str], str] = {}
    for block in data["nlu"]:
        lang = (block.get("metadata") or {}).get("lang", "?")
        for line in block["examples"].splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                mapping[(block["intent"], text)] = lang
    return mapping


def newest_model() -> Path:
    models = sorted((ROOT / "var" / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("no model in var/models: run `supportbot train` first")
    return models[-1]


def rasa_predictions(model: Path, nlu: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(RASA), "test", "nlu", "--nlu", str(nlu), "--model", str(model)]
        cmd += ["--out", out, "--successes", "--no-plot"]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        rows: list[dict] = []
        for name in ("intent_successes.json", "intent_errors.json"):
            file = Path(out) / name
            if file.exists():
                rows += json.loads(file.read_text(encoding="utf-8"))
        return rows


def summarise(rows: list[dict], languages: dict[tuple[str, str], str]) -> dict:
    by_lang: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for row in rows:
        gold = row["intent"]
        predicted = row["intent_prediction"]["name"]
        confidence = float(row["intent_prediction"].get("confidence") or 0.0)
        lang = languages.get((gold, row["text"].strip()), "?")
        by_lang[lang].append((gold, predicted, confidence))

    def table(items: list[tuple[str, str, float]]) -> dict:
        questions = [p for g, p, _ in items if g == "question"]
        humans = [p for g, p, _ in items if g == "ask_human"]
        complaints = [p for g, p, _ in items if g == "complain"]
        confusion: dict[str, dict[str, int]] = defaultdict(Counter)  # type: ignore[arg-type]
        for g, p, _ in items:
            confusion[g][p] += 1
        return {
            "examples": len(items),
            "accuracy": round(sum(g == p for g, p, _ in items) / len(items), 3),
            "question_to_kb": round(sum(p in TO_KB for p in questions) / len(questions), 3),
            "question_as_ask_human": sum(p == "ask_human" for p in questions),
            "question_as_complain": sum(p == "complain" for p in questions),
            "questions": len(questions),
            "ask_human_recall": round(sum(p == "ask_human" for p in humans) / len(humans), 3),
            "ask_human_as_question": sum(p in TO_KB for p in humans),
            "ask_human_handed_over": sum(p in HANDOFF for p in humans),
            "ask_humans": len(humans),
            "complain_recall": round(sum(p == "complain" for p in complaints) / len(complaints), 3),
            "complain_as_question": sum(p in TO_KB for p in complaints),
            "complain_as_ask_human": sum(p == "ask_human" for p in complaints),
            "complaints": len(complaints),
            "confusion": {g: dict(c) for g, c in sorted(confusion.items())},
            "errors": [f"{g} -> {p} ({c:.2f})" for g, p, c in items if g != p],
        }

    per_language = {lang: table(items) for lang, items in sorted(by_lang.items())}
    pooled = table([x for items in by_lang.values() for x in items])
    pooled.pop("errors")
    return {"by_language": per_language, "pooled": pooled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model from var/models (default: newest)")
    parser.add_argument("--nlu", type=Path, default=HELDOUT)
    parser.add_argument("--label", default="current", help="key for this run in the results")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    model = args.model or newest_model()
    rows = rasa_predictions(model, args.nlu)
    languages = languages_of(args.nlu)
    result = summarise(rows, languages)
    for row in rows:
        if row["intent"] != row["intent_prediction"]["name"]:
            lang = languages.get((row["intent"], row["text"].strip()), "?")
            print(
                f"{lang:8} {row['intent']:10} -> {row['intent_prediction']['name']:12}"
                f" {row['intent_prediction']['confidence']:.2f}  {row['text']}"
            )
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    previous[args.label] = {
        "model": model.name,
        "heldout": str(args.nlu.resolve().relative_to(ROOT)),
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(previous, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{'lang':8} {'n':>3} {'acc':>5} {'q→kb':>5} {'q→human':>7} {'q→compl':>7} {'human':>5}")
    for lang, r in {**result["by_language"], "pooled": result["pooled"]}.items():
        print(
            f"{lang:8} {r['examples']:3} {r['accuracy']:5.2f} {r['question_to_kb']:5.2f}"
            f" {r['question_as_ask_human']:7} {r['question_as_complain']:7}"
            f" {r['ask_human_recall']:5.2f}"
        )


if __name__ == "__main__":
    main()
