"""End-to-end load benchmark: the whole hub for real, under concurrent customers.

Starts what `supportbot run` starts - the hub on a free loopback port, the supervised Rasa
server with the trained model, the real embedding model and index, SQLite (or PostgreSQL with
--database-url) - then plays N customer conversations at once through the web channel's
`POST /api/chat`: a greeting, knowledge-base questions taken from the demo articles' titles,
an unrelated question, thanks. Every message is timed from request to the bot's answer.

Writes bench/results/e2e_load.json: messages, errors, p50/p95/p99 latency and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.hub import Hub  # noqa: E402
from bot.i18n import t  # noqa: E402
from bot.rasa.train import train  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from knowledge_base.loader import load_articles  # noqa: E402

VERBOSE = False
UNRELATED = ["what is the capital of Mongolia", "can you write me a poem about the sea"]


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


RASA_DOWN = {t("rasa_down"), t("still_waiting")}  # the bot's "technical problem" replies


def script(titles: list[str], rng: random.Random, questions: int) -> list[str]:
    """One customer's messages: hello, a few KB questions, something unrelated, thanks."""
    return ["hi", *rng.sample(titles, questions), rng.choice(UNRELATED), "thanks"]


async def customer(
    http: httpx.AsyncClient,
    name: str,
    messages: list[str],
    timings: list[float],
    sessions: list[str] | None = None,
) -> Counter[str]:
    """Plays one customer; counts answered, handed-off (a person owns it now: the bot is
    rightly silent) and failed messages (an error, or silence while the bot owns it)."""
    outcome: Counter[str] = Counter()
    opened = (await http.post("/api/chat/sessions")).json()  # as the widget starts
    session, auth = opened["session"], {"authorization": f"Bearer {opened['token']}"}
    if sessions is not None:
        sessions.append(session)
    for text in messages:
        started = time.perf_counter()
        response = await http.post(
            "/api/chat", json={"session": session, "text": text}, headers=auth
        )
        timings.append((time.perf_counter() - started) * 1000)
        if VERBOSE:
            replies = [m["text"][:70] for m in response.json().get("messages", [])]
            print(f"{name} > {text!r} -> {replies}")
        if response.status_code == 200 and response.json().get("messages"):
            texts = {m["text"] for m in response.json()["messages"]}
            outcome["told_rasa_down" if texts & RASA_DOWN else "answered"] += 1
            continue
        state = (await http.get(f"/api/chat/{session}", headers=auth)).json().get("state")
        if response.status_code == 200 and state in ("queued", "with_agent"):
            outcome["to_agent"] += 1
        else:
            outcome["failed"] += 1
            print(f"no answer to {text!r}: {response.status_code} {response.text[:200]}")
    return outcome


async def duplicate_turns(hub: Hub, sessions: list[str]) -> int:
    """User turns Rasa's trackers hold more than once (the same hub message id twice)."""
    duplicates = 0
    for session in sessions:
        events = (await hub.rasa.tracker(f"web:{session}", "ALL")).get("events") or []
        ids = [
            (e.get("metadata") or {}).get("message_id")
            for e in events
            if isinstance(e, dict) and e.get("event") == "user"
        ]
        seen = [i for i in ids if i is not None]
        duplicates += len(seen) - len(set(seen))
    return duplicates


async def run(settings: Settings, conversations: int, concurrency: int, questions: int) -> dict:
    await train(settings)
    sock = free_socket()
    # Rasa calls the actions back on this hub's /webhook: the hub's port must be the real one
    settings = settings.with_(host="127.0.0.1", port=int(sock.getsockname()[1]), action_url="")
    hub = Hub(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(hub), log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.1)
        assert hub.supervisor is not None
        if not await hub.supervisor.wait_ready(600):
            raise SystemExit(f"Rasa did not start; see {hub.supervisor.log_file}")
        while hub.kb.state in ("not loaded", "loading"):
            await asyncio.sleep(0.2)
        if hub.kb.state != "ready":
            raise SystemExit(f"knowledge base failed: {hub.kb.error}")
        articles = load_articles(settings.articles_dir).articles
        titles = [a.title for a in articles if a.language == settings.default_language]
        rng = random.Random(7)
        url = f"http://127.0.0.1:{settings.port}"
        timings: list[float] = []
        sessions: list[str] = []
        limit = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            await customer(http, "warm-up", ["hi"], [])

            async def one(i: int) -> Counter[str]:
                async with limit:
                    return await customer(
                        http, f"load-{i}", script(titles, rng, questions), timings, sessions
                    )

            started = time.perf_counter()
            outcome = sum(await asyncio.gather(*(one(i) for i in range(conversations))), Counter())
            elapsed = time.perf_counter() - started
        duplicates = await duplicate_turns(hub, sessions)
        ms = np.array(timings)
        return {
            "conversations": conversations,
            "concurrency": concurrency,
            "messages": len(timings),
            "answered": outcome["answered"],
            "to_agent": outcome["to_agent"],
            "failed": outcome["failed"],
            "told_rasa_down": outcome["told_rasa_down"],
            "duplicate_rasa_turns": duplicates,
            "rasa_timeout_s": settings.rasa_timeout,
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "messages_per_s": round(len(timings) / elapsed, 2),
            "database": settings.db_url.split(":", 1)[0],
            "embedding_runtime": settings.embedding_runtime,
        }
    finally:
        server.should_exit = True
        await serving
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=40, help="customers (default 40)")
    parser.add_argument("--concurrency", type=int, default=8, help="at once (default 8)")
    parser.add_argument("--questions", type=int, default=3, help="KB questions per customer")
    parser.add_argument("--database-url", default="", help="e.g. postgresql+asyncpg://...")
    parser.add_argument(
        "--rasa-timeout",
        type=float,
        default=60.0,
        help="RASA_TIMEOUT for the run: seconds between health checks of a busy Rasa (default 60)",
    )
    parser.add_argument("--verbose", action="store_true", help="print every exchange")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "e2e_load.json")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    with tempfile.TemporaryDirectory(prefix="supportbot-load-") as tmp:
        var = Path(tmp)
        base = load_settings()
        settings = base.with_(
            var_dir=var,
            index_dir=var / "kb-index",
            database_url=args.database_url,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            rasa_managed=True,
            rasa_timeout=args.rasa_timeout,
        )
        result: dict[str, Any] = asyncio.run(
            run(settings, args.conversations, args.concurrency, args.questions)
        )
    for key, value in result.items():
        print(f"{key:<20} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
