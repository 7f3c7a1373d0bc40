"""Several hubs on one PostgreSQL database and one Redis: 1 vs 2 vs 3 hubs under 10/30/60
concurrent web-chat customers, and a hub killed (SIGKILL) under load.

Every hub is a real `supportbot run` process on its own loopback port, all with the same
DATABASE_URL (a fresh PostgreSQL database made for the run and dropped after it) and the same
REDIS_URL, so they share the event bus, the per-conversation locks and the leader lease of the
retry loop. Rasa is NOT the real one: a stand-in Rasa server (this file, `--serve-rasa`, its own
process) answers every turn "echo: <text>" after a fixed simulated NLU latency (30 ms by
default) and keeps trackers as Rasa does, so the numbers measure the hub layer - HTTP, storage,
locks, the bus, routing - not NLU or the knowledge base (the hubs get an empty article folder:
nothing to index, though each hub still loads its embedding model at start, and the model's
ONNX export is made once for all of them).

Customers are spread over the hubs round-robin, as a load balancer would, and each plays a
short conversation through the web chat's HTTP API (`POST /api/chat/sessions`, then
`POST /api/chat` with `Authorization: Bearer <token>` and a client message `id`), one message
after another, no think time; each message is timed from request to the bot's answer.

The kill run: hubs up, customers talking, and one hub (the lease holder: the first one
started) gets `kill -9` when half the messages are answered. A customer whose request fails
sends the same message (same `id`, so it is stored once) to the next live hub, as a load
balancer with passive health checks would. Afterwards the database must show every stored
customer message answered ("echo: <text>" stored once) and the Redis lease held by a survivor.

Writes bench/results/hubs.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
# `supportbot run` (the console script's entry point, so that PYTHONPATH can pick the code)
HUB_COMMAND = [str(PYTHON), "-c", "import sys; from bot.cli import main; sys.exit(main())"]
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/2"
UNANSWERED = ("received", "pending")  # a customer message's status until it is handled


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (as numpy's default), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- the stand-in Rasa --------------------------------------------------------------------------


def serve_stand_in_rasa(port: int, delay: float) -> None:
    """Rasa's HTTP API as the hub uses it: the REST channel (`echo: <text>` after `delay`
    seconds), /status, trackers with the turns' metadata (the hub rebuilds replies from them
    after a crash), appended events. `GET /bench/turns` counts turns and hub message ids that
    reached it more than once."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    trackers: dict[str, list[dict[str, Any]]] = {}
    seen: Counter[Any] = Counter()  # turns logged, per hub message id
    arrived: Counter[Any] = Counter()  # turns that reached the stand-in

    async def webhook(request: Request) -> JSONResponse:
        body = await request.json()
        metadata = body.get("metadata") or {}
        arrived[metadata.get("message_id")] += 1
        await asyncio.sleep(delay)
        seen[metadata.get("message_id")] += 1
        replies = [{"recipient_id": body["sender"], "text": f"echo: {body['message']}"}]
        tracker = trackers.setdefault(body["sender"], [])
        tracker.append({"event": "user", "text": body["message"], "metadata": metadata})
        tracker.extend({"event": "bot", "text": r["text"], "data": {}} for r in replies)
        return JSONResponse(replies)

    async def status(_: Request) -> JSONResponse:
        return JSONResponse({"model_id": "stand-in"})

    async def tracker(request: Request) -> JSONResponse:
        events = trackers.get(request.path_params["sender"], [])
        return JSONResponse(
            {
                "latest_message": {"intent": {"name": "ask", "confidence": 0.9}},
                "events": None if request.query_params.get("include_events") == "NONE" else events,
            }
        )

    async def append_event(_: Request) -> JSONResponse:
        return JSONResponse({})

    async def turns(_: Request) -> JSONResponse:
        twice = sum(n - 1 for key, n in seen.items() if key is not None and n > 1)
        cut = sorted(k for k in arrived if k is not None and arrived[k] > seen[k])
        return JSONResponse({"turns": sum(seen.values()), "sent_twice": twice, "not_logged": cut})

    app = Starlette(
        routes=[
            Route("/webhooks/rest/webhook", webhook, methods=["POST"]),
            Route("/status", status),
            Route("/conversations/{sender}/tracker/events", append_event, methods=["POST"]),
            Route("/conversations/{sender}/tracker", tracker),
            Route("/bench/turns", turns),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- hubs ---------------------------------------------------------------------------------------


@dataclass
class HubProcess:
    index: int
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None
    alive: bool = True  # as the load balancer sees it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    """A fresh database, the stand-in Rasa and N hub processes; everything goes at exit."""

    def __init__(self, args: argparse.Namespace, work: Path, label: str) -> None:
        self.args = args
        self.work = work / label
        self.work.mkdir(parents=True)
        self.db_name = f"bench_hubs_{uuid.uuid4().hex[:10]}"
        self.database_url = f"{args.pg_dsn.rsplit('/', 1)[0]}/{self.db_name}"
        self.rasa_port = free_port()
        self.rasa: asyncio.subprocess.Process | None = None
        self.hubs: list[HubProcess] = []
        self.articles = self.work / "articles"  # empty: no embedding model, a fast start
        self.articles.mkdir()
        self.onnx = work / "onnx"

    @property
    def namespace(self) -> str:
        """The hubs' Redis namespace (bot.cluster.lease.namespace: a hash of DATABASE_URL)."""
        return hashlib.sha256(self.database_url.encode()).hexdigest()[:12]

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    async def __aenter__(self) -> Cluster:
        await admin(self.args.pg_dsn, f'CREATE DATABASE "{self.db_name}"')
        rasa_log = (self.work / "rasa.log").open("w")
        self.rasa = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve-rasa",
            str(self.rasa_port),
            "--rasa-delay",
            str(self.args.rasa_delay),
            stdout=rasa_log,
            stderr=subprocess.STDOUT,
        )
        await wait_for(f"{self.rasa_url}/status", 30, lambda r: r.status_code == 200)
        return self

    async def start_hubs(self, count: int) -> float:
        """Start `count` hubs: the first alone (it runs the migrations on the empty database,
        as compose starts hub2 after hub1 is healthy), then the others together. Returns the
        seconds until all were healthy."""
        started = time.perf_counter()
        for index in range(count):
            port = free_port()
            self.hubs.append(HubProcess(index, port, self.work / f"hub{index}.log"))
        await self._start(self.hubs[0])
        await asyncio.gather(*(self._start(hub) for hub in self.hubs[1:]))
        return time.perf_counter() - started

    async def _start(self, hub: HubProcess) -> None:
        var = self.work / f"hub{hub.index}"
        var.mkdir()
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.args.redis_url,
            "RASA_MANAGED": "false",
            "RASA_URL": self.rasa_url,
            "SUPPORTBOT_VAR_DIR": str(var),
            "KB_ARTICLES_DIR": str(self.articles),
            "KB_INDEX_DIR": str(var / "kb-index"),
            "KB_WATCH_SECONDS": "0",
            "EMBEDDING_ONNX_DIR": str(self.onnx),  # shared: exported once per benchmark
            "TEAMS_FILE": str(var / "no-teams.yml"),
        }
        if self.args.code:  # a snapshot of a commit, ahead of the editable install
            env["PYTHONPATH"] = str(self.args.code)
        log = hub.log.open("w")
        command = [*HUB_COMMAND, "run", "--skip-train", "--host", "127.0.0.1"]
        hub.process = await asyncio.create_subprocess_exec(
            *command,
            "--port",
            str(hub.port),
            cwd=var,  # no .env of the working tree
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def healthy(response: httpx.Response) -> bool:
            body = response.json()
            return response.status_code == 200 and body["index"]["state"] not in (
                "not loaded",
                "loading",
            )

        try:
            await wait_for(f"{hub.url}/healthz", 180, healthy, hub.process)
        except RuntimeError as exc:
            tail = "\n".join(hub.log.read_text().splitlines()[-20:])
            raise SystemExit(f"hub {hub.index} did not start ({exc}):\n{tail}") from exc

    def kill(self, hub: HubProcess) -> None:
        assert hub.process is not None
        hub.process.send_signal(signal.SIGKILL)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by the live hubs together and by the stand-in
        Rasa, from /proc (Linux)."""

        def used(process: asyncio.subprocess.Process | None) -> float:
            if process is None or process.returncode is not None:
                return 0.0
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        return {
            "hubs": sum(used(h.process) for h in self.hubs),
            "rasa": used(self.rasa),
        }

    async def stand_in_turns(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            return dict((await http.get(f"{self.rasa_url}/bench/turns")).json())

    async def __aexit__(self, *_: object) -> None:
        processes = [h.process for h in self.hubs if h.process] + [self.rasa]
        for process in processes:
            if process is not None and process.returncode is None:
                process.terminate()
        for process in processes:
            if process is None:
                continue
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        await admin(self.args.pg_dsn, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        await drop_redis_keys(self.args.redis_url, self.namespace)


async def wait_for(
    url: str,
    seconds: float,
    ready: Any,
    process: asyncio.subprocess.Process | None = None,
) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if process is not None and process.returncode is not None:
                raise RuntimeError(f"exited with {process.returncode}")
            try:
                if ready(await http.get(url)):
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {seconds:.0f} s")


async def admin(dsn: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def drop_redis_keys(url: str, namespace: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"supportbot:{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def lease_holder(url: str, namespace: str) -> str | None:
    """The token of the hub holding the retry loop's lease (bot.cluster.lease.RedisLeader)."""
    import redis.asyncio as redis

    client = redis.from_url(url)
    try:
        value = await client.get(f"supportbot:{namespace}:leader:background")
    finally:
        await client.aclose()
    return value.decode() if isinstance(value, bytes) else value


# --- customers ----------------------------------------------------------------------------------


@dataclass
class Load:
    """What the customers of one run saw."""

    hubs: list[HubProcess]
    failover: bool  # a failed request goes to the next live hub (the kill run)
    latencies: list[float] = field(default_factory=list)  # ms, per message, retries included
    outcome: Counter[str] = field(default_factory=Counter)
    sent: dict[str, list[str]] = field(default_factory=dict)  # session -> texts sent
    done: int = 0  # messages finished (answered or given up)
    progressed: asyncio.Event = field(default_factory=asyncio.Event)
    # each broken request: (hub index, error, path, perf_counter at start, seconds it took)
    failures: list[tuple[int, str, str, float, float]] = field(default_factory=list)

    def hub_for(self, customer: int) -> HubProcess | None:
        """Round-robin, skipping hubs that failed a request (a passive health check)."""
        for step in range(len(self.hubs)):
            hub = self.hubs[(customer + step) % len(self.hubs)]
            if hub.alive:
                return hub
        return None


async def call(
    http: httpx.AsyncClient, load: Load, customer: int, path: str, **kwargs: Any
) -> httpx.Response | None:
    """One request as a load balancer forwards it: to the customer's hub; with failover, a
    refused or broken connection or a 5xx goes to the next live hub. None: it failed."""
    for _attempt in range(6):
        hub = load.hub_for(customer)
        if hub is None:
            return None
        started = time.perf_counter()
        try:
            response = await http.post(f"{hub.url}{path}", **kwargs)
        except httpx.TransportError as exc:
            load.outcome[f"error:{type(exc).__name__}"] += 1
            took = time.perf_counter() - started
            load.failures.append((hub.index, type(exc).__name__, path, started, took))
            if not load.failover:
                return None
            hub.alive = False
            load.outcome["retried"] += 1
            continue
        if response.status_code >= 500:
            load.outcome[f"error:{response.status_code}"] += 1
            if not load.failover:
                return response
            load.outcome["retried"] += 1
            await asyncio.sleep(0.5)
            continue
        return response
    return None


async def customer(http: httpx.AsyncClient, load: Load, number: int, messages: int) -> None:
    opened = await call(http, load, number, "/api/chat/sessions")
    if opened is None or opened.status_code != 200:
        load.outcome["no_session"] += 1
        load.done += messages
        return
    session, token = opened.json()["session"], opened.json()["token"]
    auth = {"authorization": f"Bearer {token}"}
    texts = load.sent.setdefault(session, [])
    for n in range(messages):
        text = f"customer {number} question {n}: where is my order {number * 100 + n}?"
        texts.append(text)
        body = {"session": session, "text": text, "id": f"c{number}-m{n}", "language": "en"}
        started = time.perf_counter()
        response = await call(http, load, number, "/api/chat", json=body, headers=auth)
        elapsed = (time.perf_counter() - started) * 1000
        if response is None or response.status_code != 200:
            load.outcome["failed"] += 1
        else:
            replies = [m.get("text") for m in response.json().get("messages", [])]
            if f"echo: {text}" in replies:
                load.outcome["answered"] += 1
            elif not replies:  # a retry of a message already answered (its reply was lost)
                load.outcome["answered_before_retry"] += 1
            else:  # "still waiting": in Rasa's hands on the dead hub, pushed later
                load.outcome["deferred"] += 1
            load.latencies.append(elapsed)
        load.done += 1
        load.progressed.set()


async def play(load: Load, customers: int, messages: int) -> float:
    """All customers at once, each with its own HTTP client (as each browser has its own
    connection: one shared pool would reuse connections the hub's uvicorn closed after 5 s
    idle, and count that race as an error); returns the seconds it took."""

    async def one(number: int) -> None:
        async with httpx.AsyncClient(timeout=180) as http:
            await customer(http, load, number, messages)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(customers)))
    return time.perf_counter() - started


async def warm_up(hubs: list[HubProcess]) -> None:
    """One message per hub before timing: the language detector is built on the first one."""
    load = Load(hubs, failover=False)
    async with httpx.AsyncClient(timeout=180) as http:
        await asyncio.gather(*(customer(http, load, i, 1) for i in range(len(hubs))))
    if load.outcome["answered"] != len(hubs):
        raise SystemExit(f"warm-up failed: {dict(load.outcome)}")


# --- the database's view ------------------------------------------------------------------------


async def audit(database_url: str, sent: dict[str, list[str]]) -> dict[str, Any]:
    """What the database holds for these sessions: customer messages stored, answered (no longer
    received/pending and their "echo: <text>" stored), stored twice, answered twice, messages
    the customers sent that are not stored answered (lost), and each unanswered one."""
    import asyncpg

    keys = [f"web:{session}" for session in sent]
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            """SELECT c.key, m.id, m.direction, m.text, m.status, m.vendor_message_id,
                      m.rasa_sent_at IS NOT NULL AS sent_to_rasa
               FROM messages m JOIN conversations c ON c.id = m.conversation_id
               WHERE c.key = ANY($1::text[]) ORDER BY m.id""",
            keys,
        )
    finally:
        await connection.close()
    stored: Counter[tuple[str, str]] = Counter()
    rows_in: dict[tuple[str, str], Any] = {}
    echoes: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row["direction"] == "in":
            stored[(row["key"], row["text"])] += 1
            rows_in[(row["key"], row["text"])] = row
        elif row["text"].startswith("echo: "):
            echoes[(row["key"], row["text"][6:])] += 1
    answered = {m for m in stored if rows_in[m]["status"] not in UNANSWERED and echoes[m] >= 1}
    wanted = {(f"web:{session}", text) for session, texts in sent.items() for text in texts}
    unanswered = [rows_in[m] for m in stored if m not in answered]
    return {
        "stored": len(stored),
        "stored_twice": sum(n - 1 for n in stored.values() if n > 1),
        "answered": len(answered),
        "unanswered": len(unanswered),
        "still_received_or_pending": sum(1 for r in unanswered if r["status"] in UNANSWERED),
        "handled_without_reply": sum(1 for r in unanswered if r["status"] not in UNANSWERED),
        "answered_twice": sum(1 for m in stored if echoes[m] > 1),
        "lost": len(wanted - answered),
        "unanswered_messages": [
            {
                "conversation": r["key"],
                "message_id": r["id"],
                "client_id": r["vendor_message_id"],
                "status": r["status"],
                "sent_to_rasa": r["sent_to_rasa"],
                "bot_replies_stored": echoes[(r["key"], r["text"])],
            }
            for r in unanswered
        ],
    }


# --- runs ---------------------------------------------------------------------------------------


def summary(load: Load, customers: int, messages: int, seconds: float) -> dict[str, Any]:
    ms = load.latencies
    errors = sum(n for k, n in load.outcome.items() if k.startswith("error:"))
    return {
        "customers": customers,
        "messages_per_customer": messages,
        "messages": len(ms),
        "answered": load.outcome["answered"],
        "errors": errors + load.outcome["failed"] + load.outcome["no_session"],
        "outcome": dict(sorted(load.outcome.items())),
        "seconds": round(seconds, 2),
        "messages_per_s": round(len(ms) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
        "load_average_1min_after": round(os.getloadavg()[0], 2),  # the 2 cores are shared
    }


async def scaling(args: argparse.Namespace, work: Path, hubs: int) -> list[dict[str, Any]]:
    """One cluster of `hubs` hubs, then each number of customers on it in turn."""
    results = []
    loads: list[Load] = []
    async with Cluster(args, work, f"scale-{hubs}") as cluster:
        startup = await cluster.start_hubs(hubs)
        await warm_up(cluster.hubs)
        for customers in args.customers:
            load = Load(cluster.hubs, failover=False)
            cpu, client = cluster.cpu_seconds(), time.process_time()
            seconds = await play(load, customers, args.messages)
            client, cpu_after = time.process_time() - client, cluster.cpu_seconds()
            loads.append(load)
            result = {"hubs": hubs, **summary(load, customers, args.messages, seconds)}
            count = max(1, result["messages"])
            result["cpu_ms_per_message"] = {  # the 2 cores are shared by all of these
                "hubs": round((cpu_after["hubs"] - cpu["hubs"]) * 1000 / count, 1),
                "stand_in_rasa": round((cpu_after["rasa"] - cpu["rasa"]) * 1000 / count, 1),
                "bench_client": round(client * 1000 / count, 1),
            }
            result["database"] = await audit(cluster.database_url, load.sent)
            result["hubs_started_s"] = round(startup, 1)
            results.append(result)
            print(
                f"hubs={hubs} customers={customers:<3} {result['messages']} messages, "
                f"{result['errors']} errors, {result['messages_per_s']} msg/s, "
                f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
                f"p99 {result['p99_ms']} ms, hub CPU {result['cpu_ms_per_message']['hubs']} "
                f"ms/message, stored {result['database']['stored']}, "
                f"answered {result['database']['answered']} ({seconds:.1f} s)",
                flush=True,
            )
        # messages left pending (Rasa "unavailable") are answered by the leader's retry loop
        # (every 5 s): wait for it, then audit each run again
        sessions = {s: t for load in loads for s, t in load.sent.items()}
        deadline = time.monotonic() + args.settle_pending
        while time.monotonic() < deadline:
            if not (await audit(cluster.database_url, sessions))["still_received_or_pending"]:
                break
            await asyncio.sleep(0.5)
        turns = await cluster.stand_in_turns()
        for result, load in zip(results, loads, strict=True):
            result["database_at_the_end"] = await audit(cluster.database_url, load.sent)
            result["stand_in_rasa_sent_twice"] = turns["sent_twice"]
    return results


async def kill_run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    customers, messages = args.kill_customers, args.kill_messages
    async with Cluster(args, work, "kill") as cluster:
        await cluster.start_hubs(args.kill_hubs)
        await warm_up(cluster.hubs)
        victim = cluster.hubs[0]  # started first, alone: it took the lease
        holder = await lease_holder(args.redis_url, cluster.namespace)
        load = Load(cluster.hubs, failover=True)
        total = customers * messages
        killed_at = 0.0
        done_at_kill = 0

        async def killer() -> None:
            nonlocal killed_at, done_at_kill
            while load.done < total // 2:
                load.progressed.clear()
                await load.progressed.wait()
            cluster.kill(victim)
            killed_at, done_at_kill = time.perf_counter(), load.done

        takeover: float | None = None

        async def lease_watch() -> None:
            """When another hub holds the lease after the kill (polled every 0.2 s)."""
            nonlocal takeover
            while killed_at == 0.0:
                await asyncio.sleep(0.05)
            while True:
                current = await lease_holder(args.redis_url, cluster.namespace)
                if current is not None and current != holder:
                    takeover = time.perf_counter() - killed_at
                    return
                await asyncio.sleep(0.2)

        kill = asyncio.create_task(killer())
        watch = asyncio.create_task(lease_watch())
        seconds = await play(load, customers, messages)
        await kill
        load_done = time.perf_counter() - killed_at
        # recovery: every stored message answered in the database. Stop early once nothing is
        # left "received"/"pending" and the lease moved: a message handled without a stored
        # reply is never picked up again (the retry loop looks at received and pending only)
        recovered = None
        settled: float | None = None  # nothing left received/pending
        deadline = time.monotonic() + args.recovery_timeout
        report = await audit(cluster.database_url, load.sent)
        # what was still unanswered when the customers were done, and when it got answered
        late = {
            m["message_id"]: {**m, "answered_after_kill_s": None}
            for m in report["unanswered_messages"]
        }
        while time.monotonic() < deadline:
            report = await audit(cluster.database_url, load.sent)
            now = time.perf_counter() - killed_at
            open_ids = {m["message_id"] for m in report["unanswered_messages"]}
            for message_id, entry in late.items():
                if message_id not in open_ids and entry["answered_after_kill_s"] is None:
                    entry["answered_after_kill_s"] = round(now, 1)
            if settled is None and report["still_received_or_pending"] == 0:
                settled = now
            if report["unanswered"] == 0 and report["lost"] == 0:
                recovered = time.perf_counter() - killed_at
                break
            if report["still_received_or_pending"] == 0 and takeover is not None:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(args.settle)  # anything answered twice late would show by now
        report = await audit(cluster.database_url, load.sent)
        if recovered is None and report["unanswered"] == 0 and report["lost"] == 0:
            recovered = time.perf_counter() - killed_at
        watch.cancel()
        turns = await cluster.stand_in_turns()
        exit_code = victim.process.returncode if victim.process else None
        result = {
            "hubs": args.kill_hubs,
            "killed": f"hub 0 of {args.kill_hubs} (the lease holder), SIGKILL",
            "killed_after_messages": done_at_kill,
            "victim_exit_code": exit_code,
            **summary(load, customers, messages, seconds),
            "database": report,
            "lost": report["lost"],
            "answered_twice": report["answered_twice"],
            "stand_in_rasa_sent_twice": turns["sent_twice"],
            "stand_in_rasa_turns_arrived_not_logged": turns["not_logged"],
            "messages_over_10_s": sum(1 for ms in load.latencies if ms > 10_000),
            "broken_requests": [
                {
                    "hub": hub,
                    "error": error,
                    "path": path,
                    "sent_s_after_kill": round(started - killed_at, 2),
                    "took_s": round(took, 2),
                }
                for hub, error, path, started, took in load.failures
            ],
            "load_finished_after_kill_s": round(load_done, 1),
            "unanswered_when_load_finished": list(late.values()),
            "none_received_or_pending_after_kill_s": round(settled, 1) if settled else None,
            "lease_taken_over_after_s": round(takeover, 1) if takeover is not None else None,
            "all_answered_after_kill_s": round(recovered, 1) if recovered is not None else None,
        }
        print(
            f"kill: hubs={args.kill_hubs} customers={customers} killed hub 0 after "
            f"{done_at_kill}/{total} messages; stored {report['stored']}, answered "
            f"{report['answered']}, lost {report['lost']}, answered twice "
            f"{report['answered_twice']}; lease taken over after "
            f"{result['lease_taken_over_after_s']} s, all answered after "
            f"{result['all_answered_after_kill_s']} s; "
            f"p95 {result['p95_ms']} ms, max {result['max_ms']} ms",
            flush=True,
        )
        if args.keep_logs:
            print(f"logs in {cluster.work}")
        return result


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        f"{'hubs':>4} {'customers':>9} {'messages':>8} {'errors':>6} {'msg/s':>7} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    ]
    for r in runs:
        lines.append(
            f"{r['hubs']:>4} {r['customers']:>9} {r['messages']:>8} {r['errors']:>6} "
            f"{r['messages_per_s']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8}"
        )
    return "\n".join(lines)


def snapshot(args: argparse.Namespace, work: Path) -> str:
    """With --commit, that commit's files in `work/code` for the hubs; says which code runs."""
    if not args.commit:
        return "the working tree " + git("rev-parse", "--short", "HEAD").strip() + " + changes"
    rev = git("rev-parse", "--short", args.commit).strip()
    args.code = work / "code"
    args.code.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(args.code)], input=archive, check=True)
    return f"commit {rev} ({git('log', '-1', '--format=%cI', rev).strip()})"


async def bench(args: argparse.Namespace, work: Path, code: str) -> dict[str, Any]:
    started = time.perf_counter()
    info = machine()
    runs: list[dict[str, Any]] = []
    for hubs in args.hubs:
        runs.extend(await scaling(args, work, hubs))
    kill = await kill_run(args, work) if args.kill_customers else None
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "benchmark": "several hubs on one PostgreSQL and one Redis (bench/hubs.py)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": info,
        "hub_code": code,
        "rasa": f"stand-in, {args.rasa_delay * 1000:.0f} ms",
        "knowledge_base": "empty article folder (never queried: the stand-in runs no actions)",
        "database": "PostgreSQL, a fresh database per cluster",
        "redis": args.redis_url,
        "client": "httpx, same process for all customers; customers round-robin over hubs, "
        "no think time; latency from request to the bot's answer",
        "runs": runs,
        "kill": kill,
        "duration_s": round(time.perf_counter() - started, 1),
    }


def git(*arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *arguments], check=True, capture_output=True, text=True
    ).stdout


def numbers(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: .venv/bin/python bench/hubs.py --hubs 1,2 --customers 10 --messages 2 "
        "--kill-customers 0  (a quick look, no kill run).",
    )
    parser.add_argument("--hubs", type=numbers, default=[1, 2, 3], help="hub counts (1,2,3)")
    parser.add_argument(
        "--customers", type=numbers, default=[10, 30, 60], help="customers at once (10,30,60)"
    )
    parser.add_argument("--messages", type=int, default=3, help="messages per customer (3)")
    parser.add_argument(
        "--rasa-delay", type=float, default=0.03, help="stand-in Rasa's latency, seconds (0.03)"
    )
    parser.add_argument("--kill-hubs", type=int, default=2, help="hubs in the kill run (2)")
    parser.add_argument(
        "--kill-customers", type=int, default=30, help="customers in the kill run (30; 0: no run)"
    )
    parser.add_argument(
        "--kill-messages", type=int, default=6, help="messages per customer in the kill run (6)"
    )
    parser.add_argument(
        "--recovery-timeout",
        type=float,
        default=360.0,
        help="longest wait after the load for every message to be answered (360 s: a turn "
        "cut off on its way to Rasa is resent after 2 x RASA_MAX_WAIT = 300 s)",
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="wait before the final audit (5 s)"
    )
    parser.add_argument(
        "--settle-pending",
        type=float,
        default=60.0,
        help="after the scaling runs, longest wait for pending messages to be answered (60 s)",
    )
    parser.add_argument("--pg-dsn", default=PG_DSN, help=f"PostgreSQL admin DSN ({PG_DSN})")
    parser.add_argument("--redis-url", default=REDIS_URL, help=f"the hubs' REDIS_URL ({REDIS_URL})")
    parser.add_argument(
        "--commit",
        default="",
        help="run the hubs from this commit (a `git archive` snapshot, e.g. HEAD) instead of "
        "the working tree",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the hubs' logs (temp dir)")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "results" / "hubs.json",
        help="the JSON results (bench/results/hubs.json)",
    )
    parser.add_argument("--serve-rasa", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_rasa:
        serve_stand_in_rasa(args.serve_rasa, args.rasa_delay)
        return
    if not PYTHON.exists():
        raise SystemExit(f"{PYTHON} is missing: run `make install`")
    args.code = None
    work = Path(tempfile.mkdtemp(prefix="supportbot-hubs-"))
    try:
        result = asyncio.run(bench(args, work, snapshot(args, work)))
    finally:
        if not args.keep_logs:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(result["runs"]))
    kill = result["kill"]
    if kill:
        print(
            f"kill run: stored {kill['database']['stored']}, answered "
            f"{kill['database']['answered']}, lost {kill['lost']}, answered twice "
            f"{kill['answered_twice']}, lease taken over after "
            f"{kill['lease_taken_over_after_s']} s, all answered after "
            f"{kill['all_answered_after_kill_s']} s"
        )
    print(f"duration {result['duration_s']} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
