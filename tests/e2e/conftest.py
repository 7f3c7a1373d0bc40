"""The whole hub for real: a trained Rasa model served by the supervised Rasa process, the real
embedding model and index, SQLite, and the hub on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.app import create_app
from bot.hub import Hub
from bot.rasa_train import train
from bot.settings import Settings
from tests.conftest import free_port
from tests.support import bound_socket, serve


@dataclass
class Running:
    hub: Hub
    url: str
    http: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws") + "/ws"

    async def chat(self, session: str, text: str) -> list[dict]:
        response = await self.http.post("/api/chat", json={"session": session, "text": text})
        assert response.status_code == 200, response.text
        return response.json()["messages"]


@pytest.fixture(scope="session")
async def running(base_settings: Settings, tmp_path_factory) -> AsyncIterator[Running]:
    var = tmp_path_factory.mktemp("e2e-var")
    await train(base_settings)  # Rasa's fingerprint makes this quick when nothing changed
    sock = bound_socket()
    settings = base_settings.with_(
        var_dir=var,
        index_dir=var / "kb-index",
        port=sock.getsockname()[1],
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_managed=True,
        rasa_timeout=30.0,
    )
    hub = Hub(settings)
    async with (
        serve(create_app(hub), sock) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        assert hub.supervisor is not None
        assert await hub.supervisor.wait_ready(300), (
            f"Rasa did not start: {hub.supervisor.log_file}"
        )
        while hub.kb.state in ("not loaded", "loading"):
            await asyncio.sleep(0.2)
        assert hub.kb.state == "ready", hub.kb.error
        yield Running(hub, url, http)
