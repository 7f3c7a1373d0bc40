"""Bounded input and security headers, over real HTTP against the hub's real app (FakeRasa as
Rasa, SQLite in a temp dir) and, for WebSocket frames, uvicorn as `supportbot run` serves."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import websockets
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.app import create_app
from bot.console.agent_api import CSP as CONSOLE_CSP
from bot.http_limits import DEMO_CSP, RASA_CALL_BYTES, SecurityHeaders
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from bot.storage.models import Message
from tests.fake_rasa import FakeRasa
from tests.support import serve

PASSWORD = "limits-tester-9-lives"


@dataclass
class Site:
    http: httpx.AsyncClient
    hub: Hub

    async def stored_messages(self) -> int:
        async with self.hub.db.session() as s:
            return int((await s.execute(select(func.count()).select_from(Message))).scalar_one())


async def running(settings: Settings) -> AsyncIterator[Site]:
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True, exist_ok=True)
    async with serve(FakeRasa().app()) as rasa_url:
        hub = Hub(settings.with_(rasa_managed=False, rasa_url=rasa_url, articles_dir=empty_kb))
        async with serve(create_app(hub)) as url, httpx.AsyncClient(base_url=url) as http:
            yield Site(http, hub)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Site]:
    async for running_site in running(settings):
        yield running_site


def chat_body(text: str) -> bytes:
    return json.dumps({"session": "big-sender", "text": text}).encode()


async def chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    """A body sent chunked (no Content-Length), as a streaming client does."""
    body = chat_body("x" * total)
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(site: Site):
    response = await site.http.post("/api/chat", content=chat_body("x" * 10_000_000))
    assert response.status_code == 413
    assert "65536 bytes" in response.json()["error"]
    assert await site.stored_messages() == 0
    # the same client (and server) carries on
    assert (await site.http.get("/healthz")).status_code == 200


async def test_a_chunked_body_without_length_is_counted_and_refused(site: Site):
    response = await site.http.post("/api/chat", content=chunks(1_000_000))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["error"]
    assert await site.stored_messages() == 0
    assert (await site.http.get("/healthz")).status_code == 200


async def test_the_limit_is_a_setting(settings: Settings):
    async for site in running(settings.with_(max_body_bytes=1000)):
        assert (await site.http.post("/api/chat", content=chat_body("x" * 900))).status_code != 413
        too_big = await site.http.post("/api/chat", content=chat_body("x" * 1000))
        assert too_big.status_code == 413
        streamed = await site.http.post("/api/chat", content=chunks(1000, size=100))
        assert streamed.status_code == 413
        # the other bodies that are parsed by hand are bounded too
        login = await site.http.post("/api/agent/login", content=b"[" + b" " * 2000 + b"]")
        assert login.status_code == 413
        # but Rasa's calls carry whole trackers: the action endpoint has a limit of its own
        # (and refuses a caller without Rasa's token before it reads the body)
        tracker = await site.http.post("/webhook", content=b"{" + b" " * 200_000 + b"}")
        assert tracker.status_code == 401
        huge = await site.http.post("/webhook", content=b" " * (RASA_CALL_BYTES + 1))
        assert huge.status_code == 413


def assert_everywhere(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert response.headers["referrer-policy"] == "no-referrer", response.url


async def test_every_response_says_nosniff(site: Site):
    for path in ("/", "/widget.js", "/docs", "/openapi.json", "/healthz", "/agent", "/nowhere"):
        assert_everywhere(await site.http.get(path))
    assert_everywhere(await site.http.post("/api/chat", content=b"{not json"))
    assert_everywhere(await site.http.post("/api/chat", content=chat_body("x" * 100_000)))


async def test_the_demo_page_has_a_policy_for_the_widget_and_the_docs_none(site: Site):
    page = await site.http.get("/")
    assert page.headers["content-security-policy"] == DEMO_CSP
    policy = dict(part.strip().split(" ", 1) for part in DEMO_CSP.split(";"))
    assert policy["script-src"] == "'self'"  # only /widget.js: no inline script runs
    assert "'unsafe-inline'" in policy["style-src"]  # the page's and the widget's <style>
    assert policy["connect-src"] == "'self' ws: wss:"  # the widget's API calls and socket
    assert '<script src="/widget.js"' in page.text and "<script>" not in page.text
    docs = await site.http.get("/docs")
    assert "content-security-policy" not in docs.headers  # Swagger UI loads from its CDN


async def test_the_console_keeps_its_own_policy(site: Site):
    console = await site.http.get("/agent")
    assert console.headers["content-security-policy"] == CONSOLE_CSP
    assert console.headers["x-frame-options"] == "DENY"


async def test_agent_and_chat_json_is_never_cached(site: Site):
    await site.hub.agents.create("fuzzy", PASSWORD, role="agent")
    anonymous = await site.http.get("/api/agent/me")
    assert anonymous.status_code == 401 and anonymous.headers["cache-control"] == "no-store"
    login = await site.http.post(
        "/api/agent/login", json={"username": "fuzzy", "password": PASSWORD}
    )
    assert login.status_code == 200 and login.headers["cache-control"] == "no-store"
    me = await site.http.get("/api/agent/me")
    assert me.json()["csrf"] and me.headers["cache-control"] == "no-store"
    assert_everywhere(me)
    for path in ("/api/agent/queue", "/api/chat/anyone"):
        assert (await site.http.get(path)).headers["cache-control"] == "no-store", path
    assert "no-store" not in (await site.http.get("/widget.js")).headers.get("cache-control", "")


async def test_an_unhandled_error_is_a_json_500_with_the_headers():
    async def broken(_: Request) -> JSONResponse:
        raise RuntimeError("a bug")

    app = Starlette(routes=[Route("/api/broken", broken)], middleware=[Middleware(SecurityHeaders)])
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/api/broken")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (logged)"}
    assert_everywhere(response)
    assert response.headers["cache-control"] == "no-store"


# --- transcripts -----------------------------------------------------------------------------


async def test_an_agent_reads_a_long_transcript_a_page_at_a_time(site: Site):
    first = await site.hub.store.store_incoming(
        IncomingMessage("web", "chatty", "my parcel never arrived at all", Customer("chatty"))
    )
    conversation = first.conversation
    async with site.hub.db.session() as s:
        s.add_all(
            Message(
                conversation_id=conversation.id,
                direction="in" if i % 2 else "out",
                sender="customer" if i % 2 else "bot",
                text=f"message {i}",
                status="processed",
            )
            for i in range(1, 450)
        )
        await s.commit()
    await site.hub.handoffs.request(conversation, "requested", 0.2, {})
    handoff = await site.hub.handoffs.open_for(conversation.id)
    assert handoff
    await site.hub.agents.create("pager", PASSWORD, role="agent")
    login = {"username": "pager", "password": PASSWORD}
    assert (await site.http.post("/api/agent/login", json=login)).status_code == 200

    url = f"/api/agent/handoffs/{handoff.id}"
    latest = (await site.http.get(url)).json()
    texts = [m["text"] for m in latest["transcript"]]
    assert len(texts) == 200 and latest["transcript_more"] is True
    assert texts[-1] == "message 449"  # the latest 200
    # the summary still knows how it started
    assert latest["summary"]["first_problem"] == "my parcel never arrived at all"
    seen = [m["id"] for m in latest["transcript"]]
    page = latest
    while page["transcript_more"]:
        page = (await site.http.get(url, params={"before": page["transcript"][0]["id"]})).json()
        seen = [m["id"] for m in page["transcript"]] + seen
    assert len(seen) == len(set(seen)) == await site.stored_messages()
    assert page["transcript"][0]["text"] == "my parcel never arrived at all"
    for before in (-1, 0, 2**70):  # not a message id a database holds: a 400, never a 500
        response = await site.http.get(url, params={"before": before})
        assert response.status_code == 400 and "before" in response.json()["error"]


# --- WebSocket frames ------------------------------------------------------------------------


def echo_app(closed: list[int]) -> Starlette:
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect as exc:
            closed.append(exc.code)

    return Starlette(routes=[WebSocketRoute("/ws", echo)])


@pytest.mark.parametrize("limit", [Settings.max_frame_bytes, 1000])
async def test_a_frame_over_the_limit_closes_the_socket_with_1009(limit: int):
    closed: list[int] = []
    async with serve(echo_app(closed), max_frame_bytes=limit) as url:
        ws_url = url.replace("http", "ws") + "/ws"
        async with websockets.connect(ws_url) as ws:
            await ws.send("x" * limit)
            assert await ws.recv() == "x" * limit  # up to the limit: fine
            await ws.send("x" * (limit + 1))
            with pytest.raises(websockets.ConnectionClosedError) as closing:
                await ws.recv()
        assert closing.value.rcvd is not None
        assert closing.value.rcvd.code == 1009
        assert f"exceeds limit of {limit} bytes" in closing.value.rcvd.reason
        assert closed == [1009]  # the app was told, and the server keeps serving
        async with websockets.connect(ws_url) as ws:
            await ws.send("still here")
            assert await ws.recv() == "still here"
