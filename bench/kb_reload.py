"""Live knowledge base: time from saving an article to the bot answering with it.

For a 100-article English base (the 35 demo articles + 65 synthetic ones, as in kb_scale.py)
and a 5,000-article synthetic base, both served by `KnowledgeBase` with the real embedding
model:

* `save_article` (the writers' API path): from the call until a search for one of the new
  article's example questions is answered (`answer`) with it;
* a plain file write picked up by the watcher (`ArticleWatcher`, KB_WATCH_SECONDS=1.0): from
  the write until the same.

Saves come every few seconds, so most of them land while the previous save's full calibration
still runs in the background (the slow case). A search loop runs throughout, as customers
would. Results: bench/results/kb_reload.json. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.kb_scale import synthesise  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from knowledge_base.editing import ArticleInput, render  # noqa: E402
from knowledge_base.embedder import Embedder, Embedders  # noqa: E402
from knowledge_base.service import KnowledgeBase  # noqa: E402
from knowledge_base.watcher import ArticleWatcher  # noqa: E402

THINGS = [
    "kayak",
    "piano",
    "telescope",
    "sewing machine",
    "aquarium",
    "drum kit",
    "espresso maker",
    "snowboard",
    "harp",
    "microscope",
    "violin",
    "lawn mower",
    "tent",
    "easel",
    "rowing machine",
    "metronome",
    "saxophone",
    "beehive",
    "pottery wheel",
    "canoe",
    "accordion",
    "trampoline",
    "chess clock",
    "sundial",
]


def new_article(n: int, language: str = "en") -> ArticleInput:
    thing = THINGS[n % len(THINGS)] + (f" model {n // len(THINGS)}" if n >= len(THINGS) else "")
    return ArticleInput(
        id=f"bench-{n:03d}",
        language=language,
        title=f"Shipping a {thing}",
        questions=[
            f"can you ship a {thing}",
            f"how is a {thing} delivered",
            f"do you deliver {thing}s abroad",
            f"what does shipping a {thing} cost",
            f"my {thing} arrived damaged in transit",
        ],
        body=f"We ship every {thing} in a reinforced box within 3 working days.",
        handoff=None,
        tags=["delivery"],
    )


async def answered(kb: KnowledgeBase, article: ArticleInput, timeout: float = 120) -> float:
    """Poll (every 20 ms) until the bot answers the article's second question with it; the
    monotonic time it first did."""
    deadline = time.perf_counter() + timeout
    question = article.questions[1]
    while time.perf_counter() < deadline:
        found = await kb.search(question, article.language)
        if (
            found
            and found.decision == "answer"
            and found.best
            and found.best.article.id == article.id
        ):
            return time.perf_counter()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{article.id} not answered within {timeout} s")


async def customers(kb: KnowledgeBase, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """Customers asking all along: every search must come back (failures are counted)."""
    while not stop.is_set():
        try:
            found = await kb.search("where is my parcel", "en")
            counts["ok" if found is not None else "none"] += 1
        except Exception:
            counts["failed"] += 1
        await asyncio.sleep(0.05)


def summary(samples: list[float]) -> dict[str, object]:
    return {
        "n": len(samples),
        "p50_s": round(float(np.percentile(samples, 50)), 3),
        "p95_s": round(float(np.percentile(samples, 95)), 3),
        "max_s": round(max(samples), 3),
        "samples_s": [round(s, 3) for s in samples],
    }


async def run_base(
    name: str, articles: Path, index: Path, embedder: Embedder, saves: int, pause: float
) -> dict[str, object]:
    kb = KnowledgeBase(
        articles, index, embedder.model_name, embedders=Embedders.single(embedder), languages=["en"]
    )
    started = time.perf_counter()
    await kb.load()
    build_s = time.perf_counter() - started
    assert kb.state == "ready", kb.error
    count = len(kb.articles())
    print(f"[{name}] {count} articles loaded in {build_s:.1f} s", flush=True)
    stop = asyncio.Event()
    counts = {"ok": 0, "none": 0, "failed": 0}
    asking = asyncio.create_task(customers(kb, stop, counts))

    via_api: list[float] = []
    reload_s: list[float] = []
    during_calibration = 0
    for n in range(saves):
        article = new_article(n)
        during_calibration += kb.calibrating
        t0 = time.perf_counter()
        result = await kb.save_article(article, "bench")
        via_api.append(await answered(kb, article) - t0)
        reload_s.append(result.seconds)
        print(f"[{name}] save {n + 1}/{saves}: answered after {via_api[-1]:.2f} s", flush=True)
        await asyncio.sleep(pause)

    watcher = ArticleWatcher(kb, interval=1.0)
    watcher.start()
    via_file: list[float] = []
    for n in range(saves, 2 * saves):
        article = new_article(n)
        during_calibration += kb.calibrating
        path = articles / "en" / f"{article.id}.md"
        t0 = time.perf_counter()
        path.write_text(render(article), encoding="utf-8")
        via_file.append(await answered(kb, article) - t0)
        print(f"[{name}] file {n - saves + 1}/{saves}: answered after {via_file[-1]:.2f} s")
        await asyncio.sleep(pause)
    await watcher.stop()
    t0 = time.perf_counter()
    await kb.settled()
    settle_s = time.perf_counter() - t0
    stop.set()
    await asyncio.gather(asking)
    await kb.close()
    return {
        "articles_before": count,
        "first_build_s": round(build_s, 1),
        "save_article_to_answer": summary(via_api),
        "save_article_reload_s": summary(reload_s),
        "file_write_to_answer": summary(via_file),
        "saves_while_calibrating": during_calibration,
        "pause_between_saves_s": pause,
        "calibration_tail_after_last_save_s": round(settle_s, 1),
        "customer_searches": counts,
        "load_average": [round(x, 1) for x in os.getloadavg()],  # other work on the machine
    }


def base_100(folder: Path) -> None:
    """The 35 demo English articles + 65 synthetic ones (10 example questions each)."""
    en = folder / "en"
    en.mkdir(parents=True)
    for path in sorted((ROOT / "knowledge_base" / "articles" / "en").glob("*.md")):
        shutil.copy(path, en)
    demo = len(list(en.glob("*.md")))
    synthetic = folder / "synthetic"
    synthesise(synthetic, (100 - demo) * 10, seed=11)
    for path in synthetic.glob("*.md"):
        path.rename(en / path.name)
    synthetic.rmdir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--large-saves", type=int, default=3)
    parser.add_argument("--large", type=int, default=5000, help="articles (0: skip)")
    parser.add_argument("--pause", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "kb_reload.json")
    args = parser.parse_args()
    settings = load_settings()
    embedder = Embedder(settings.embedding_model, onnx_dir=settings.onnx_dir)
    result: dict[str, object] = {
        "cpus": os.cpu_count(),
        "model": settings.embedding_model,
        "target_p95_s": 10,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="kb-reload-") as tmp:
        small = Path(tmp) / "kb100"
        base_100(small / "articles")
        result["kb_100"] = asyncio.run(
            run_base("100", small / "articles", small / "index", embedder, args.saves, args.pause)
        )
        if args.large:
            large = Path(tmp) / "kb5000"
            synthesise(large / "articles" / "en", args.large * 10, seed=7)
            result[f"kb_{args.large}"] = asyncio.run(
                run_base(
                    str(args.large),
                    large / "articles",
                    large / "index",
                    embedder,
                    args.large_saves,
                    args.pause,
                )
            )
    result["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
