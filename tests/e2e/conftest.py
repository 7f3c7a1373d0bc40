"""The whole hub for real: a trained Rasa model served by the supervised Rasa process, the real
embedding model and index, SQLite, and the hub on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import websockets

from bot.app import create_app
from bot.hub import Hub
from bot.rasa.train import train
from bot.settings import Settings
from channels.web import WebChannel
from tests.channels.fake_telegram import FakeTelegram
from tests.conftest import TRAINING, copy_demo_kb_cache, free_port
from tests.fake_slack import FakeSlack
from tests.support import bound_socket, serve

SLACK_SECRET = "e2e-slack-signing-secret"


@dataclass
class Running:
    hub: Hub
    url: str
    http: httpx.AsyncClient
    telegram: FakeTelegram
    slack: FakeSlack
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws") + "/ws"

    async def token(self, session: str) -> str:
        """A token for a web session with a chosen id (the hub issues it, as to the widget)."""
        if session not in self.tokens:
            web = cast(WebChannel, self.hub.channels["web"])
            self.tokens[session] = (await web.sessions.issue(session)).token
        return self.tokens[session]

    async def auth(self, session: str) -> dict[str, str]:
        return {"authorization": f"Bearer {await self.token(session)}"}

    async def chat(self, session: str, text: str, **extra: Any) -> list[dict]:
        response = await self.http.post(
            "/api/chat",
            json={"session": session, "text": text, **extra},
            headers=await self.auth(session),
        )
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    @asynccontextmanager
    async def socket(
        self, session: str, language: str | None = None
    ) -> AsyncIterator[websockets.ClientConnection]:
        """The widget's websocket, authenticated by its first frame."""
        async with websockets.connect(self.ws_url) as ws:
            token = await self.token(session)
            await ws.send(json.dumps({"type": "auth", "token": token, "language": language}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert ready == {"type": "ready", "session": session}, ready
            yield ws


@pytest.fixture(scope="session")
async def running(
    base_settings: Settings, tmp_path_factory, demo_kb_cache: Path
) -> AsyncIterator[Running]:
    var = tmp_path_factory.mktemp("e2e-var")
    # the demo articles' vectors and calibrations, made once per run (tests/conftest.py)
    copy_demo_kb_cache(demo_kb_cache, var / "kb-index")
    # a copy of the demo articles: tests that write articles (the writers' page) leave
    # knowledge_base/articles alone
    articles = var / "articles"
    shutil.copytree(base_settings.articles_dir, articles)
    if TRAINING:  # started when the tests were collected (tests/conftest.py)
        await TRAINING[0].model()
    else:
        await train(base_settings)  # Rasa's fingerprint makes this quick when nothing changed
    sock = bound_socket()
    telegram, slack = FakeTelegram(), FakeSlack(users={"U0E2E": "Mirna Kovač"})
    async with serve(telegram.app()) as telegram_url, serve(slack.app()) as slack_url:
        settings = base_settings.with_(
            var_dir=var,
            index_dir=var / "kb-index",
            articles_dir=articles,
            port=sock.getsockname()[1],
            rasa_url=f"http://127.0.0.1:{free_port()}",
            rasa_managed=True,
            rasa_timeout=30.0,
            # Telegram (long polling) and Slack on, against local fakes of their APIs
            telegram_token=telegram.token,
            telegram_api_url=f"{telegram_url}/bot",
            slack_bot_token="xoxb-e2e",
            slack_signing_secret=SLACK_SECRET,
            slack_api_url=f"{slack_url}/api/",
        )
        async for running in _hub(settings, sock, telegram, slack):
            yield running


async def _hub(
    settings: Settings, sock: socket.socket, telegram: FakeTelegram, slack: FakeSlack
) -> AsyncIterator[Running]:
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
        yield Running(hub, url, http, telegram, slack)
