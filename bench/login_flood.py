"""Login-flood benchmark: does guessing agent passwords slow the hub down for everyone else?

Starts the hub (bot.app.create_app) in this process with uvicorn on a free loopback port, on
its own thread and event loop, with SQLite in a temp dir, no Rasa (a URL nobody listens on)
and an empty knowledge base. The load runs on the main thread's loop. Then:

1. quiet: `/healthz` latency, one request after another, nothing else going on;
2. flood from one address: 8 concurrent loops post wrong passwords to `/api/agent/login`
   (round-robin over a real agent and made-up usernames) while `/healthz` is timed the same
   way; the per-address backoff turns most attempts into cheap 429s;
3. distributed flood: the same, but every attempt comes from a new loopback address
   (127.1.x.y) and a new username, so no backoff applies and every attempt costs an argon2
   hash; also times a colleague's good login from yet another address in the middle of it.

Writes bench/results/login_flood.json: per phase the /healthz p50/p95/max in ms, and for the
floods the attempts and their status codes (the number of 429s among them).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import platform
import socket
import sys
import tempfile
import threading
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
from bot.settings import Settings, load_settings  # noqa: E402

AGENT, PASSWORD = "maria", "correct horse battery"  # attacked by the one-address flood
COLLEAGUE = "ben"  # logs in during the distributed flood
LOOPS = 8
# a new connection per request: on a kept-alive loopback connection httpx and uvicorn wait
# ~40 ms for a delayed ACK on every request (a bare FastAPI app too), which would hide the hub
FRESH = httpx.Limits(max_keepalive_connections=0)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class HubThread:
    """The hub served by uvicorn on its own thread and event loop (in this process)."""

    def __init__(self, settings: Settings) -> None:
        self.sock = free_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.hub = Hub(settings)
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(self.hub), log_level="error", ws="websockets-sansio")
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="hub", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    async def __aenter__(self) -> HubThread:
        self.thread.start()
        while not self.server.started:
            await asyncio.sleep(0.05)
        return self

    async def run(self, coroutine: Any) -> Any:
        """Await a coroutine on the hub's own loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 30)
        self.sock.close()


def summary(ms: list[float]) -> dict[str, float]:
    values = np.array(ms)
    return {
        "requests": len(ms),
        "p50_ms": round(float(np.percentile(values, 50)), 1),
        "p95_ms": round(float(np.percentile(values, 95)), 1),
        "max_ms": round(float(values.max()), 1),
    }


async def probe_healthz(url: str, stop: asyncio.Event, count: int | None = None) -> list[float]:
    """Time `/healthz`, one request after another, until `stop` is set (or `count` done)."""
    timings: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=FRESH) as http:
        while not stop.is_set() and (count is None or len(timings) < count):
            started = time.perf_counter()
            response = await http.get("/healthz")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.02)
    return timings


async def flood_one_address(url: str, stop: asyncio.Event, codes: Counter[int]) -> None:
    names = itertools.cycle([AGENT, "admin", "root", "support"])
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=FRESH) as http:
        while not stop.is_set():
            body = {"username": next(names), "password": "wrong password guess"}
            codes[(await http.post("/api/agent/login", json=body)).status_code] += 1


async def flood_many_addresses(
    url: str, stop: asyncio.Event, codes: Counter[int], loop_id: int
) -> None:
    for n in itertools.count():
        if stop.is_set():
            return
        address = f"127.1.{loop_id}.{n % 250 + 1}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, timeout=60, transport=transport) as http:
            body = {"username": f"guess-{loop_id}-{n}", "password": "wrong password guess"}
            codes[(await http.post("/api/agent/login", json=body)).status_code] += 1


async def good_login(url: str, address: str) -> tuple[int, float]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, timeout=60, transport=transport) as http:
        started = time.perf_counter()
        response = await http.post(
            "/api/agent/login", json={"username": COLLEAGUE, "password": PASSWORD}
        )
        return response.status_code, round((time.perf_counter() - started) * 1000, 1)


async def flood_phase(url: str, seconds: float, distributed: bool) -> dict[str, Any]:
    stop = asyncio.Event()
    codes: Counter[int] = Counter()
    if distributed:
        floods = [flood_many_addresses(url, stop, codes, i) for i in range(LOOPS)]
    else:
        floods = [flood_one_address(url, stop, codes) for _ in range(LOOPS)]
    started = time.perf_counter()
    tasks = [asyncio.create_task(f) for f in floods]
    await asyncio.sleep(1.0)  # let the flood get going before measuring
    probe = asyncio.create_task(probe_healthz(url, stop))
    login = None
    if distributed:
        await asyncio.sleep(seconds / 2)
        status, ms = await good_login(url, "127.2.0.1")
        login = {"status": status, "ms": ms}
        await asyncio.sleep(seconds / 2)
    else:
        await asyncio.sleep(seconds)
    stop.set()
    timings = await probe
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    attempts = sum(codes.values())
    result: dict[str, Any] = {
        "seconds": seconds,
        "loops": LOOPS,
        "attempts": attempts,
        "status_codes": {str(code): n for code, n in sorted(codes.items())},
        "throttled_429": codes[429],
        "attempts_per_s": round(attempts / elapsed, 1),
        "healthz": summary(timings),
    }
    if login:
        result["good_login_during_flood"] = login
    return result


async def run(settings: Settings, seconds: float) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    async with HubThread(settings) as served:
        await served.run(served.hub.agents.create(AGENT, PASSWORD, display_name="Maria"))
        await served.run(served.hub.agents.create(COLLEAGUE, PASSWORD, display_name="Ben"))
        while served.hub.kb.state in ("not loaded", "loading"):
            await asyncio.sleep(0.2)
        url = served.url
        await probe_healthz(url, asyncio.Event(), count=20)  # warm-up
        quiet = summary(await probe_healthz(url, asyncio.Event(), count=200))
        one_address = await flood_phase(url, seconds, distributed=False)
        many_addresses = await flood_phase(url, seconds, distributed=True)
    return {
        "quiet": {"healthz": quiet},
        "flood_one_address": one_address,
        "flood_many_addresses": many_addresses,
        "database": "sqlite",
        "machine": f"{platform.machine()}, {_cpus()} CPUs",
        "load_average_before": load_before,  # other work on the machine skews every figure
    }


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per flood (default 15)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "login_flood.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="supportbot-login-flood-") as tmp:
        var = Path(tmp)
        (var / "no-articles").mkdir()
        with free_socket() as closed:
            nobody = f"http://127.0.0.1:{closed.getsockname()[1]}"
        settings = load_settings(env_file=Path("/nonexistent")).with_(
            var_dir=var,
            index_dir=var / "kb-index",
            database_url="",
            articles_dir=var / "no-articles",
            rasa_url=nobody,
            rasa_managed=False,
        )
        # every failed login is logged, as in production: to a file, not over the results
        logging.basicConfig(filename=var / "hub.log", level=logging.WARNING)
        result = asyncio.run(run(settings, args.seconds))
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
