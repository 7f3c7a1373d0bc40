"""Runs the Rasa server as a supervised child process: health-checked, restarted if it dies,
stopped (with its children) when the hub stops."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.db import normalise_url

log = logging.getLogger(__name__)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the child if the hub dies without cleaning up."""
    os.setsid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def rasa_executable(settings: Settings) -> Path:
    return settings.rasa_venv / "bin" / "rasa"


def with_tokens(settings: Settings) -> Settings:
    """The settings with the secrets the hub shares with Rasa filled in: a random action token
    when none is set, and a random Rasa API token when the hub runs Rasa itself."""
    changes: dict[str, str] = {}
    if not settings.action_token:
        changes["action_token"] = secrets.token_urlsafe(32)
    if not settings.rasa_token and settings.rasa_managed:
        changes["rasa_token"] = secrets.token_urlsafe(32)
    return settings.with_(**changes) if changes else settings


def tracker_store(settings: Settings) -> dict[str, Any]:
    """Rasa's SQL tracker store, so that a Rasa restart keeps every conversation: in the hub's
    PostgreSQL database when there is one (Rasa's table is `events`), else in its own SQLite
    file under var/."""
    url = normalise_url(settings.db_url)
    if url.startswith("postgresql"):
        # Rasa's SQLAlchemy 1.4 with psycopg2, which .venv-rasa has; Rasa passes `url` on as
        # the store's host, and a host with a scheme is taken as the whole database URL
        return {"type": "SQL", "dialect": "postgresql", "url": url.replace("+asyncpg", "", 1)}
    return {"type": "SQL", "dialect": "sqlite", "db": str(settings.var_dir / "rasa-tracker.db")}


def write_endpoints(settings: Settings) -> Path:
    """Rasa's endpoints file: its action calls go to this hub's /webhook with the shared token
    (a header, so that it stays out of access logs), its trackers to a persistent store. The
    file holds secrets, so only its owner may read it."""
    path = settings.var_dir / "rasa-endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints = {
        "action_endpoint": {
            "url": settings.webhook_url,
            "headers": {"Authorization": f"Bearer {settings.action_token}"},
        },
        "tracker_store": tracker_store(settings),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(yaml.safe_dump(endpoints))
    return path


class RasaSupervisor:
    def __init__(self, settings: Settings, client: RasaClient) -> None:
        self.settings = settings
        self.client = client
        self.state = "stopped"  # stopped | starting | ready | restarting | failed
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = asyncio.Event()

    @property
    def log_file(self) -> Path:
        return self.settings.var_dir / "logs" / "rasa.log"

    def command(self) -> list[str]:
        s = self.settings
        return [
            str(rasa_executable(s)),
            "run",
            "--enable-api",
            *(["--auth-token", s.rasa_token] if s.rasa_token else []),
            "--interface",
            "127.0.0.1",
            "--port",
            str(s.rasa_port),
            "--model",
            str(s.models_dir),
            "--endpoints",
            str(write_endpoints(s)),
            "--credentials",
            str(s.rasa_project / "credentials.yml"),
        ]

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._supervise(), name="rasa-supervisor")

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            out.write(f"\n--- starting Rasa at {time.ctime()} ---\n".encode())
            out.flush()
            return await asyncio.create_subprocess_exec(
                *self.command(),
                cwd=str(self.settings.rasa_project),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            self.state = "starting" if self.restarts == 0 else "restarting"
            try:
                process = self._process = await self._spawn()
            except OSError as exc:
                self.state = "failed"
                log.error("cannot start Rasa (%s); is .venv-rasa installed?", exc)
                return
            log.info("Rasa starting (pid %s), log: %s", process.pid, self.log_file)
            started = time.monotonic()
            while process.returncode is None and not self._stopping:
                healthy = await self.client.healthy()
                if healthy and not self._ready.is_set():
                    self.state = "ready"
                    self._ready.set()
                    log.info("Rasa ready after %.0f s", time.monotonic() - started)
                elif not healthy and self._ready.is_set():
                    self.state = "starting"
                    self._ready.clear()
                try:
                    await asyncio.wait_for(process.wait(), 2.0)
                except TimeoutError:
                    pass
            self._ready.clear()
            if self._stopping:
                break
            self.restarts += 1
            log.error("Rasa exited with %s; restarting in %.0f s", process.returncode, backoff)
            self.state = "restarting"
            await asyncio.sleep(backoff)
            backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, 30)
        self.state = "stopped"

    async def kill(self) -> None:
        """Kill the child abruptly (what a crash looks like); the supervisor restarts it."""
        if self._process and self._process.returncode is None:
            os.killpg(self._process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process and process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
            except ProcessLookupError:
                pass
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.state = "stopped"
