"""Test helpers: serve an ASGI app on a free loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

from bot.cluster.events import Event, LocalBus
from bot.messages import OutgoingMessage
from bot.settings import Settings
from bot.storage.db import Database

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")  # the real Redis


def bound_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@asynccontextmanager
async def serve(
    app: Any, sock: socket.socket | None = None, max_frame_bytes: int = Settings.max_frame_bytes
) -> AsyncIterator[str]:
    """Run `app` with uvicorn on `sock` (or a new one), as `supportbot run` does (WebSocket
    messages over `max_frame_bytes` close the socket with 1009); yields its base URL."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
            ws_max_size=max_frame_bytes,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _take_away(path: Path) -> None:
    path.rename(path.with_suffix(".away"))
    path.mkdir()  # a directory where the file was: SQLite cannot open it


def _bring_back(path: Path) -> None:
    path.rmdir()
    path.with_suffix(".away").rename(path)


@asynccontextmanager
async def sqlite_outage(db: Database) -> AsyncIterator[None]:
    """Make a SQLite database unreachable for real, then bring it back."""
    assert db.is_sqlite
    await db.engine.dispose()  # open connections would hide the outage
    path = Path(db.url.split("///", 1)[-1])
    await asyncio.to_thread(_take_away, path)
    try:
        yield
    finally:
        await asyncio.to_thread(_bring_back, path)


def slack_signed(raw: bytes, secret: str) -> dict[str, str]:
    """Slack's signature headers for any bytes (slack-sdk's signer only takes valid UTF-8)."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def deliveries(event: Event) -> list[tuple[str, OutgoingMessage]]:
    """The messages a "to_customer" event carries: (conversation key, message)."""
    body = event.data.get("customer") or {}
    messages = body.get("messages") or []
    return [(str(event.conversation), OutgoingMessage.from_dict(m)) for m in messages]


def record_deliveries(bus: LocalBus) -> list[tuple[str, OutgoingMessage]]:
    """What the hub sends web-chat customers outside their own turn (an agent's reply, "Ana
    joined", the rating question), as it goes over the event bus: (conversation key, message)."""
    delivered: list[tuple[str, OutgoingMessage]] = []

    async def record(event: Event) -> None:
        delivered.extend(deliveries(event))

    bus.subscribe(record, ["to_customer"])
    return delivered
