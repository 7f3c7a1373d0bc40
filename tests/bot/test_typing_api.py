"""An agent's typing reaches the customer's widget over the real app: only the agent who has
the conversation, with the session cookie and the CSRF token, throttled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import cast

import httpx
import pytest
import websockets

from bot.app import create_app
from bot.hub import Hub
from bot.settings import Settings
from channels.web import WebChannel
from tests.conftest import free_port
from tests.support import serve


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[tuple[str, Hub]]:
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True)
    hub = Hub(
        settings.with_(
            rasa_managed=False, rasa_url=f"http://127.0.0.1:{free_port()}", articles_dir=empty_kb
        )
    )
    await hub.db.migrate()
    async with serve(create_app(hub)) as url:
        await hub.agents.create("ana", "correct horse", display_name="Ana")
        await hub.agents.create("ben", "battery staple", display_name="Ben")
        yield url, hub
    await hub.db.close()


async def logged_in(url: str, username: str, password: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=url)
    response = await client.post(
        "/api/agent/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return client, response.json()["csrf"]


async def test_the_agents_typing_reaches_the_widget(site: tuple[str, Hub]):
    url, hub = site
    web = cast(WebChannel, hub.channels["web"])
    token = (await web.sessions.issue("typing")).token
    # Rasa is down: the message is queued for a person (bot_error)
    async with httpx.AsyncClient(base_url=url) as http:
        said = await http.post(
            "/api/chat",
            json={"session": "typing", "text": "hello"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert said.status_code == 200
    conversation = await hub.store.conversation("web:typing")
    assert conversation
    handoff = await hub.handoffs.open_for(conversation.id)
    assert handoff
    path = f"/api/agent/handoffs/{handoff.id}/typing"
    ana, ana_csrf = await logged_in(url, "ana", "correct horse")
    ben, ben_csrf = await logged_in(url, "ben", "battery staple")
    try:
        assert (await ana.post(path, json={})).status_code == 403  # no CSRF token
        refused = await ana.post(path, json={}, headers={"x-csrf-token": ana_csrf})
        assert refused.status_code == 409  # not claimed yet
        ana_agent = await hub.agents.by_username("ana")
        assert ana_agent
        await hub.handoffs.claim(handoff.id, ana_agent)
        async with websockets.connect(url.replace("http", "ws") + "/ws") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await ws.recv())["type"] == "ready"
            sent = await ana.post(path, json={}, headers={"x-csrf-token": ana_csrf})
            assert sent.status_code == 200 and sent.json() == {"sent": True}
            assert json.loads(await ws.recv()) == {"type": "typing", "agent": "Ana"}
            again = await ana.post(path, json={}, headers={"x-csrf-token": ana_csrf})
            assert again.json() == {"sent": False}  # throttled
        assert (
            await ben.post(path, json={}, headers={"x-csrf-token": ben_csrf})
        ).status_code == 409
        nowhere = "/api/agent/handoffs/999999/typing"
        missing = await ana.post(nowhere, json={}, headers={"x-csrf-token": ana_csrf})
        assert missing.status_code == 404
    finally:
        await ana.aclose()
        await ben.aclose()
