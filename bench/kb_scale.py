"""Scale benchmark: a synthetic knowledge base with 50,000 example questions.

Writes N/10 articles of 10 template-generated example questions each (seeded, so every run
builds the same KB), builds the index (FAISS flat below `HNSW_ABOVE` entries, HNSW above),
then searches one query at a time and reports p50/p95 latency. Results go to
bench/results/kb_scale.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import load_settings  # noqa: E402
from knowledge_base.embedder import Embedder  # noqa: E402
from knowledge_base.index import HNSW_ABOVE, KnowledgeIndex  # noqa: E402
from knowledge_base.retriever import Retriever  # noqa: E402

OPENERS = [
    "how do I",
    "can I",
    "is it possible to",
    "I want to",
    "help me",
    "why can't I",
    "where can I",
    "what happens if I",
    "please explain how to",
    "I need to",
]
VERBS = [
    "cancel",
    "change",
    "update",
    "activate",
    "block",
    "renew",
    "transfer",
    "return",
    "track",
    "pay for",
    "order",
    "replace",
    "verify",
    "refund",
    "upgrade",
    "reset",
]
ADJECTIVES = [
    "my",
    "the new",
    "an old",
    "a shared",
    "the premium",
    "my business",
    "a foreign",
    "the family",
    "my second",
    "a virtual",
    "the student",
    "my joint",
]
NOUNS = [
    "card",
    "account",
    "subscription",
    "parcel",
    "password",
    "invoice",
    "phone plan",
    "insurance",
    "loan",
    "booking",
    "membership",
    "gift voucher",
    "savings pot",
    "router",
    "license",
    "warranty",
    "pension",
    "mortgage",
    "ticket",
    "delivery",
]
TAILS = [
    "",
    "online",
    "today",
    "from abroad",
    "in the app",
    "without fees",
    "after moving",
    "for my partner",
    "before it expires",
    "on the website",
    "by phone",
    "this month",
]


def synthesise(folder: Path, questions: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    topics = [(v, a, n) for v in VERBS for a in ADJECTIVES for n in NOUNS]
    rng.shuffle(topics)
    queries = []
    for number in range(questions // 10):
        verb, adjective, noun = topics[number % len(topics)]
        variant = number // len(topics)
        qs = [
            " ".join(filter(None, [rng.choice(OPENERS), verb, adjective, noun, rng.choice(TAILS)]))
            + (f" (case {variant})" if variant else "")
            for _ in range(10)
        ]
        front = {
            "id": f"a{number:05d}",
            "title": f"{verb.capitalize()} {adjective} {noun}" + (f" {variant}" if variant else ""),
            "questions": qs,
        }
        body = f"To {verb} {adjective} {noun}, open your account settings and follow the steps."
        (folder / f"a{number:05d}.md").write_text(f"---\n{json.dumps(front)}\n---\n{body}\n")
        if number % 10 == 0:
            queries.append(f"{rng.choice(OPENERS)} {verb} {noun} {rng.choice(TAILS)}".strip())
    return queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "kb_scale.json")
    args = parser.parse_args()
    settings = load_settings()
    embedder = Embedder(settings.embedding_model, onnx_dir=settings.onnx_dir)
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        queries = synthesise(Path(tmp) / "kb" / "en", args.questions, seed=7)
        started = time.perf_counter()
        index, report = KnowledgeIndex.from_directory(
            Path(tmp) / "kb", embedder, Path(tmp) / "index", progress=True
        )
        build_s = time.perf_counter() - started
    language_index = index.by_language["en"]
    retriever = Retriever(index, embedder)
    retriever.search("warm up")
    queries = (queries * (args.queries // max(len(queries), 1) + 1))[: args.queries]
    latencies = []
    for query in queries:
        t0 = time.perf_counter()
        retriever.search(query)
        latencies.append((time.perf_counter() - t0) * 1000)
    result = {
        "articles": report.articles,
        "example_questions": sum(len(a.questions) for a in index.articles),
        "entries": report.entries,
        "index_type": language_index.index_type,
        "hnsw_above_entries": HNSW_ABOVE,
        "classifier": language_index.learned is not None
        and language_index.learned.classifier is not None,
        "build_s": round(build_s, 1),
        "queries": len(latencies),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "target_p95_ms": 35,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:<22}{value!s:>10}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
