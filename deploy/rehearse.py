"""Rehearse docker-compose.yml's topology without Docker, on this machine's own services:
nginx with deploy/nginx.conf (service names swapped for loopback ports), two hubs
(`supportbot run`, RASA_MANAGED=false), two Rasa servers (`rasa run --endpoints
endpoints.cluster.yml`), the local PostgreSQL (a fresh database, dropped at the end) and the local
Redis (no password). Then, through the proxy: /healthz, a web-chat round trip over /ws whose
answer needs a custom action (Rasa -> proxy -> a hub's /webhook), the agent console's socket
(/api/agent/ws, Origin checked against the forwarded Host), and the tracker in Redis.

    .venv/bin/python deploy/rehearse.py --model var/models   # a trained model (make train)

Needs: nginx (apt-get install nginx), .venv-rasa, PostgreSQL at 127.0.0.1:5432 (user postgres),
Redis at 127.0.0.1:6379. Prints what it measured; exits 1 if a check fails. Not part of
`make test`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
import websockets

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("REHEARSE_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render_nginx(ports: dict[str, int], prefix: Path) -> Path:
    """deploy/nginx.conf with loopback ports for the compose services (Docker's DNS and the
    `resolve` parameter, nginx >= 1.27.3, are not here)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for name in ("hub1", "hub2"):
        text = text.replace(f"{name}:8000", f"127.0.0.1:{ports[name]}")
    for name in ("rasa1", "rasa2"):
        text = text.replace(f"{name}:5005", f"127.0.0.1:{ports[name]}")
    text = re.sub(r" resolve;", ";", text)
    text = re.sub(r"\n\s*resolver [^;]*;", "\n", text)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{ports['proxy']};")
    text = text.replace("listen 5005;", f"listen 127.0.0.1:{ports['proxy_rasa']};")
    text = text.replace("/tmp/nginx", str(prefix / "nginx"))
    text = text.replace(
        "access_log /dev/stdout upstreams;", f"access_log {prefix}/access.log upstreams;"
    )
    path = prefix / "nginx.conf"
    path.write_text(text)
    return path


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        out = (self.logs / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_http(url: str, processes: Processes, name: str, timeout: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if processes.running[name].poll() is not None:
            raise SystemExit(f"{name} exited:\n{processes.log(name)[-3000:]}")
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{name} not ready after {timeout} s:\n{processes.log(name)[-3000:]}")


async def web_chat(base: str, question: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        session = (await http.post("/api/chat/sessions", json={})).json()
    ws_url = base.replace("http://", "ws://") + "/ws"
    started = time.monotonic()
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": session["token"]}))
        ready = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "message", "text": question, "id": 1}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if frame.get("type") == "messages" and frame.get("reply_to") == 1:
                break
    return {
        "session": session["session"],
        "ready": ready,
        "reply": frame,
        "seconds": round(time.monotonic() - started, 2),
    }


async def console_socket(base: str, username: str, password: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        login = await http.post(
            "/api/agent/login", json={"username": username, "password": password}
        )
        login.raise_for_status()
        cookie = login.cookies["sb_session"]
    ws_url = base.replace("http://", "ws://") + "/api/agent/ws"
    results: dict[str, Any] = {}
    for label, origin in (("same origin", base), ("other origin", "http://evil.example")):
        try:
            async with websockets.connect(
                ws_url, origin=origin, additional_headers={"Cookie": f"sb_session={cookie}"}
            ) as ws:
                try:
                    first = await asyncio.wait_for(ws.recv(), 2)
                    results[label] = f"open, first frame {first[:80]}"
                except TimeoutError:
                    results[label] = "open"
        except websockets.exceptions.InvalidStatus as exc:
            results[label] = f"refused {exc.response.status_code}"
        except websockets.exceptions.ConnectionClosed as exc:
            results[label] = f"closed {exc.rcvd.code if exc.rcvd else '?'}"
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default=str(ROOT / "var" / "models"), help="model file or folder"
    )
    parser.add_argument("--index", help="a built KB index folder to copy for each hub (faster)")
    parser.add_argument("--onnx", help="an EMBEDDING_ONNX_DIR with the exported models (faster)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="supportbot-rehearse-"))
    processes = Processes(work)
    ports = {
        name: free_port() for name in ("proxy", "proxy_rasa", "hub1", "hub2", "rasa1", "rasa2")
    }
    rasa_token, action_token = secrets.token_hex(16), secrets.token_hex(16)
    database = f"supportbot_rehearse_{secrets.token_hex(4)}"
    db_url = PG.rsplit("/", 1)[0] + "/" + database
    base = f"http://127.0.0.1:{ports['proxy']}"
    report: dict[str, Any] = {"ports": ports, "work": str(work)}
    failures: list[str] = []
    red = redis.Redis(host="127.0.0.1", port=6379, decode_responses=True)
    sessions: list[str] = []

    async def create_db() -> None:
        conn = await asyncpg.connect(PG)
        await conn.execute(f'CREATE DATABASE "{database}"')
        await conn.close()

    async def drop_db() -> None:
        conn = await asyncpg.connect(PG)
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.close()

    asyncio.run(create_db())
    try:
        conf = render_nginx(ports, work)
        subprocess.run(["nginx", "-t", "-q", "-p", str(work), "-c", str(conf)], check=True)
        processes.start(
            "nginx",
            ["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
            dict(os.environ),
            work,
        )

        rasa_env = {
            **os.environ,
            "ACTION_ENDPOINT_URL": f"{base}/webhook",
            "ACTION_TOKEN": action_token,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": "6379",
            "REDIS_PASSWORD": "",
            "RASA_TELEMETRY_ENABLED": "false",
        }
        t0 = time.monotonic()
        for name in ("rasa1", "rasa2"):
            processes.start(
                name,
                [
                    str(ROOT / ".venv-rasa" / "bin" / "rasa"),
                    "run",
                    "--enable-api",
                    "--auth-token",
                    rasa_token,
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(ports[name]),
                    "--model",
                    args.model,
                    "--endpoints",
                    str(ROOT / "endpoints.cluster.yml"),
                    "--credentials",
                    str(ROOT / "credentials.yml"),
                ],  # fmt: skip
                rasa_env,
                work,
            )
        hub_env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": "redis://127.0.0.1:6379/2",
            "RASA_MANAGED": "false",
            "RASA_URL": f"http://127.0.0.1:{ports['proxy_rasa']}",
            "RASA_TOKEN": rasa_token,
            "ACTION_TOKEN": action_token,
            "ACTION_ENDPOINT_URL": f"{base}/webhook",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "HF_HUB_OFFLINE": "1",
        }
        for name in ("hub1", "hub2"):
            var = work / name
            var.mkdir()
            env = {**hub_env, "SUPPORTBOT_VAR_DIR": str(var), "KB_INDEX_DIR": str(var / "kb-index")}
            if args.index:
                shutil.copytree(args.index, var / "kb-index")
            if args.onnx:
                env["EMBEDDING_ONNX_DIR"] = args.onnx
            command = [str(ROOT / ".venv" / "bin" / "supportbot"), "run", "--skip-train",
                       "--host", "127.0.0.1", "--port", str(ports[name])]  # fmt: skip
            processes.start(name, command, env, work)
            # as in docker-compose.yml: hub2 starts once hub1 is healthy (migrations done)
            report[f"{name} healthy after s"] = round(
                wait_http(f"http://127.0.0.1:{ports[name]}/healthz", processes, name), 1
            )
        for name in ("rasa1", "rasa2"):
            wait_http(f"http://127.0.0.1:{ports[name]}/", processes, name)
            report[f"{name} up after s (from its start)"] = round(time.monotonic() - t0, 1)

        # -- through the proxy ----------------------------------------------------------
        health = [httpx.get(f"{base}/healthz", timeout=10) for _ in range(6)]
        report["healthz via proxy"] = [h.status_code for h in health]
        body = health[-1].json()
        report["healthz body"] = {"status": body["status"], "rasa": body["rasa"]}
        if any(h.status_code != 200 for h in health) or body["status"] != "ok":
            failures.append("healthz through the proxy")

        chats = []
        for _ in range(4):
            chats.append(asyncio.run(web_chat(base, "how do I reset my password?")))
            sessions.append(chats[-1]["session"])
        report["web chat"] = [
            {"seconds": c["seconds"], "reply": c["reply"]["messages"][0]["text"][:70]}
            for c in chats
        ]
        if not all(c["ready"].get("type") == "ready" and c["reply"]["messages"] for c in chats):
            failures.append("web chat round trip")
        session = chats[0]["session"]
        keys = red.keys(f"supportbot:tracker:*{session}*")
        report["redis tracker keys"] = keys
        if not keys:
            failures.append("tracker in Redis")

        password = secrets.token_urlsafe(16)
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "supportbot"),
                "agents",
                "add",
                "rehearsal",
                "--role",
                "agent",
                "--password-stdin",
            ],  # fmt: skip
            input=password.encode(),
            env={**hub_env},
            cwd=work,
            check=True,
            capture_output=True,
        )
        report["console socket"] = asyncio.run(console_socket(base, "rehearsal", password))
        if not report["console socket"]["same origin"].startswith("open"):
            failures.append("console socket through the proxy")

        access = (work / "access.log").read_text()
        upstreams = re.findall(r'"(\w+) (\S+)" (\d+) upstream=(.+?) rt=', access)
        if "token=" in access:
            failures.append("a token in the proxy's access log")
        by_path: dict[str, dict[str, int]] = {}
        for _, path, _, upstream in upstreams:
            key = path.split("?")[0]
            by_path.setdefault(key, {})
            by_path[key][upstream] = by_path[key].get(upstream, 0) + 1
        report["proxy: requests per path and upstream"] = by_path
        webhook = by_path.get("/webhook", {})
        if not webhook:
            failures.append("Rasa's action calls through the proxy")
        rasa_calls = by_path.get("/webhooks/rest/webhook", {})
        report["rasa replicas used"] = len(rasa_calls)
        hub_ports = {f"127.0.0.1:{ports['hub1']}", f"127.0.0.1:{ports['hub2']}"}
        report["hub replicas used"] = len(hub_ports & {u for c in by_path.values() for u in c})
    finally:
        processes.stop()
        asyncio.run(drop_db())
        for session in sessions:  # this run's trackers
            for key in red.keys(f"supportbot:tracker:*{session}*"):
                red.delete(key)
        if not args.keep and not failures:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    print("FAILED: " + ", ".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
