"""The web channel over real HTTP and websockets: good and bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import websockets
from fastapi import FastAPI

from bot.handoff import Handoffs
from bot.messages import OutgoingMessage
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.settings import Settings
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.fake_rasa import FakeRasa
from tests.support import serve


@dataclass
class Site:
    url: str
    http: httpx.AsyncClient
    channel: WebChannel
    store: Store
    rasa: FakeRasa

    def ws(self, query: str = "session=abc") -> websockets.asyncio.client.connect:
        return websockets.connect(self.url.replace("http", "ws") + "/ws?" + query)


@pytest.fixture
async def site(sqlite_store: Store, settings: Settings) -> AsyncIterator[Site]:
    fake = FakeRasa()
    async with serve(fake.app()) as rasa_url:
        rasa = RasaClient(rasa_url)
        router = Router(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
        channel = WebChannel(router, settings)
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
            yield Site(url, http, channel, sqlite_store, fake)


async def test_rest_chat_answers_with_messages(site: Site):
    response = await site.http.post("/api/chat", json={"session": "abc", "text": "hi"})
    assert response.status_code == 200
    assert response.json() == {"messages": [{"text": "echo: hi", "buttons": [], "sender": "bot"}]}
    history = (await site.http.get("/api/chat/abc")).json()
    assert [(m["sender"], m["text"]) for m in history["messages"]] == [
        ("customer", "hi"),
        ("bot", "echo: hi"),
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"text": "hi"}', "'session'"),
        (b'{"session": "a b/c", "text": "hi"}', "'session'"),
        (b'{"session": "abc", "text": 5}', "'text'"),
        (b'{"session": "abc", "text": "   "}', "empty"),
    ],
)
async def test_rest_chat_rejects_bad_requests_clearly(site: Site, body: bytes, error: str):
    response = await site.http.post("/api/chat", content=body)
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert site.rasa.received == []


async def test_over_long_message_is_stored_and_explained(site: Site):
    response = await site.http.post("/api/chat", json={"session": "abc", "text": "a" * 5000})
    assert "too long" in response.json()["messages"][0]["text"]
    history = (await site.http.get("/api/chat/abc")).json()["messages"]
    assert len(history[0]["text"]) == 5000


async def test_unknown_session_history_is_404(site: Site):
    response = await site.http.get("/api/chat/never-seen")
    assert response.status_code == 404
    assert "unknown session" in response.json()["error"]


async def test_websocket_round_trip(site: Site):
    async with site.ws("session=abc&lang=hr-HR") as ws:
        await ws.send(json.dumps({"type": "message", "text": "hello", "id": "m1"}))
        frame = json.loads(await ws.recv())
    assert frame["type"] == "messages" and frame["reply_to"] == "m1"
    assert frame["messages"][0]["text"] == "echo: hello"
    assert site.rasa.received[0]["metadata"]["language"] == "hr"


async def test_malformed_frames_get_errors_and_the_socket_stays_usable(site: Site):
    async with site.ws() as ws:
        for bad, error in [
            ("{oops", "not valid JSON"),
            ('"just a string"', "frames look like"),
            ('{"type": "message", "text": ""}', "empty"),
            ('{"type": "message"}', "'text'"),
        ]:
            await ws.send(bad)
            frame = json.loads(await ws.recv())
            assert frame["type"] == "error" and error in frame["error"]
        await ws.send(json.dumps({"text": "still there?"}))
        frame = json.loads(await ws.recv())
        assert frame["messages"][0]["text"] == "echo: still there?"


async def test_websocket_without_a_valid_session_is_told_why(site: Site):
    async with site.ws("session=") as ws:
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and "session" in frame["error"]


async def test_push_reaches_the_open_widget(site: Site):
    async with site.ws("session=abc") as ws:
        await ws.send(json.dumps({"text": "hello"}))
        await ws.recv()
        await site.channel.send("abc", [OutgoingMessage("late answer", sender="agent")])
        frame = json.loads(await ws.recv())
    assert frame["messages"][0] == {"text": "late answer", "buttons": [], "sender": "agent"}


async def test_demo_page_embeds_the_widget_with_one_script_tag(site: Site):
    page = (await site.http.get("/")).text
    assert '<script src="/widget.js"' in page
    script = await site.http.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "textContent" in script.text and "innerHTML" not in script.text
