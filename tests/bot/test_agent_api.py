"""The agent API over real HTTP: login, CSRF, roles — every endpoint refuses the unauthorised."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
import websockets
from sqlalchemy import select, update

from bot.app import create_app
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from bot.storage.models import AuthSession, LoginFailure, utcnow
from tests.conftest import free_port
from tests.support import serve


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    # Rasa is not needed here: point at a closed port and do not manage it
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True)
    yield Hub(
        settings.with_(
            rasa_managed=False,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            articles_dir=empty_kb,
        )
    )


@pytest.fixture
async def site(hub: Hub) -> AsyncIterator[tuple[str, Hub]]:
    async with serve(create_app(hub)) as url:
        await hub.agents.create("ana", "correct horse", role="agent", display_name="Ana")
        await hub.agents.create("root", "admin password", role="admin")
        yield url, hub


@asynccontextmanager
async def login(
    url: str, username: str, password: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/api/agent/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        yield client, response.json()["csrf"]


def agent_routes(hub: Hub) -> list[tuple[str, str]]:
    """Every documented agent endpoint (the OpenAPI document lists them all)."""
    routes = []
    for path, methods in create_app(hub).openapi()["paths"].items():
        if path.startswith("/api/agent") and path != "/api/agent/login":
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            routes.extend((method.upper(), concrete) for method in methods)
    return routes


async def test_every_agent_endpoint_refuses_anonymous_calls(site):
    url, hub = site
    routes = agent_routes(hub)
    assert len(routes) >= 12
    async with httpx.AsyncClient(base_url=url) as anonymous:
        for method, path in routes:
            response = await anonymous.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json() == {"error": "log in first"}


async def test_every_write_needs_the_csrf_token(site):
    url, hub = site
    async with login(url, "root", "admin password") as (client, _):
        for method, path in agent_routes(hub):
            if method in ("POST", "DELETE"):
                response = await client.request(method, path, json={"text": "x"})
                assert response.status_code == 403, (method, path)
                assert "CSRF" in response.json()["error"]


async def test_saved_replies_are_managed_by_admins_only(site):
    url, _ = site
    async with (
        login(url, "ana", "correct horse") as (agent, agent_csrf),
        login(url, "root", "admin password") as (admin, admin_csrf),
    ):
        body = {"title": "Greeting", "text": "Hi, I'm here to help."}
        refused = await agent.post(
            "/api/agent/saved-replies", json=body, headers={"X-CSRF-Token": agent_csrf}
        )
        assert refused.status_code == 403 and refused.json() == {"error": "admins only"}
        created = await admin.post(
            "/api/agent/saved-replies", json=body, headers={"X-CSRF-Token": admin_csrf}
        )
        assert created.status_code == 200
        listed = (await agent.get("/api/agent/saved-replies")).json()["replies"]
        assert [r["title"] for r in listed] == ["Greeting"]
        reply_id = listed[0]["id"]
        assert (
            await agent.delete(
                f"/api/agent/saved-replies/{reply_id}", headers={"X-CSRF-Token": agent_csrf}
            )
        ).status_code == 403


async def test_wrong_password_and_logout(site):
    url, _ = site
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/api/agent/login", json={"username": "ana", "password": "nope nope"}
        )
        assert response.status_code == 401
        assert response.json() == {"error": "wrong username or password"}
    async with login(url, "ana", "correct horse") as (client, csrf):
        cookie = client.cookies.get("sb_session")
        assert cookie
        assert (await client.get("/api/agent/me")).json()["agent"]["username"] == "ana"
        assert (
            await client.post("/api/agent/logout", headers={"X-CSRF-Token": csrf})
        ).status_code == 200
        client.cookies.set("sb_session", cookie)  # a stolen old cookie no longer works
        assert (await client.get("/api/agent/me")).status_code == 401


async def test_login_cookie_is_httponly_and_strict(site):
    url, _ = site
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/api/agent/login", json={"username": "ana", "password": "correct horse"}
        )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header


async def test_malformed_bodies_get_clear_errors(site):
    url, _ = site
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post("/api/agent/login", content=b"{nope")
        assert response.status_code == 400 and "invalid request" in response.json()["error"]


async def test_agent_flow_over_the_api(site):
    url, hub = site
    stored = await hub.store.store_incoming(
        IncomingMessage("web", "cust", "my parcel is lost", Customer("cust", "Marko"))
    )
    await hub.handoffs.request(stored.conversation, "requested", 0.0, {})
    async with login(url, "ana", "correct horse") as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        queue = (await client.get("/api/agent/queue")).json()["handoffs"]
        assert [(h["customer_name"], h["reason"], h["status"]) for h in queue] == [
            ("Marko", "requested", "queued")
        ]
        handoff_id = queue[0]["id"]
        context = (await client.get(f"/api/agent/handoffs/{handoff_id}")).json()
        assert context["summary"]["first_problem"] == "my parcel is lost"
        assert (
            await client.post(f"/api/agent/handoffs/{handoff_id}/claim", headers=headers)
        ).status_code == 200
        sent = await client.post(
            f"/api/agent/handoffs/{handoff_id}/messages",
            json={"text": "Let me check."},
            headers=headers,
        )
        assert sent.status_code == 200
        note = await client.post(
            f"/api/agent/handoffs/{handoff_id}/notes", json={"text": "VIP"}, headers=headers
        )
        assert note.status_code == 200
        context = (await client.get(f"/api/agent/handoffs/{handoff_id}")).json()
        assert [n["text"] for n in context["notes"]] == ["VIP"]
        assert context["transcript"][-1]["text"] == "Let me check."
        resolved = await client.post(
            f"/api/agent/handoffs/{handoff_id}/resolve", json={"note": "found it"}, headers=headers
        )
        assert resolved.json()["handoff"]["status"] == "resolved"
        assert (await client.get("/api/agent/queue")).json()["handoffs"] == []
        missing = await client.get("/api/agent/handoffs/999")
        assert missing.status_code == 404


async def test_live_updates_need_a_session(site):
    url, _ = site
    ws_url = url.replace("http", "ws") + "/api/agent/ws"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(ws_url):
            pass


async def test_a_hub_restart_keeps_the_queue_the_claim_and_the_transcript(hub: Hub):
    """Stop the whole hub in the middle of a handoff and start a new one on the same data."""
    settings = hub.settings
    await hub.start()
    try:
        agent = await hub.agents.create("ana", "correct horse", display_name="Ana")
        for chat in ("waiting", "claimed"):
            stored = await hub.store.store_incoming(
                IncomingMessage("web", chat, f"help me ({chat})", Customer(chat, chat.title()))
            )
            await hub.handoffs.request(stored.conversation, "requested", 0.0, {})
        claimed = next(h for h in await hub.views.queue() if h["conversation_key"] == "web:claimed")
        await hub.handoffs.claim(claimed["id"], agent)
        await hub.handoffs.reply(claimed["id"], agent, "On it.")
    finally:
        await hub.stop()

    again = Hub(settings)
    await again.start()
    try:
        queue = {h["conversation_key"]: h for h in await again.views.queue()}
        assert queue["web:waiting"]["status"] == "queued"
        assert (
            queue["web:claimed"]["status"] == "claimed" and queue["web:claimed"]["agent"] == "ana"
        )
        context = await again.views.context(queue["web:claimed"]["id"])
        assert context
        assert [m["text"] for m in context["transcript"]][0] == "help me (claimed)"
        assert context["transcript"][-1]["text"] == "On it."
        # the customer keeps writing to the agent, not to the bot
        replies = await again.router.handle(
            IncomingMessage("web", "claimed", "thanks, still there?", Customer("claimed"))
        )
        assert replies == []
        ana = await again.agents.by_username("ana")
        assert ana
        await again.handoffs.reply(queue["web:claimed"]["id"], ana, "Yes, still here.")
    finally:
        await again.stop()


# ---------------------------------------------------------------- login that cannot be guessed


def client_from(url: str, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address` (any 127.x.y.z is this machine on Linux)."""
    return httpx.AsyncClient(
        base_url=url, transport=httpx.AsyncHTTPTransport(local_address=address)
    )


async def attempt(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/agent/login", json={"username": username, "password": password})


async def test_repeated_wrong_passwords_get_429_with_retry_after(site):
    url, _ = site
    async with client_from(url, "127.0.0.2") as attacker:
        codes = [(await attempt(attacker, "ana", "guess number one")).status_code for _ in range(5)]
        assert codes == [401] * 5
        refused = await attempt(attacker, "ana", "correct horse")  # even the right one now
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 30
        assert "too many failed logins" in refused.json()["error"]
    async with client_from(url, "127.0.0.3") as ana:  # the account is locked, wherever from
        assert (await attempt(ana, "ana", "correct horse")).status_code == 429
        assert (await attempt(ana, "root", "admin password")).status_code == 200  # others aren't


async def test_one_address_guessing_many_accounts_is_stopped_but_others_are_not(site):
    url, _ = site
    async with client_from(url, "127.0.0.4") as sprayer:
        for i in range(20):
            response = await attempt(sprayer, f"user{i}", "summer of twenty")
            assert response.status_code == 401
        refused = await attempt(sprayer, "root", "admin password")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    async with client_from(url, "127.0.0.5") as colleague:
        assert (await attempt(colleague, "root", "admin password")).status_code == 200


async def test_a_good_login_works_again_after_the_wait(site):
    url, hub = site
    async with client_from(url, "127.0.0.6") as client:
        for _ in range(5):
            await attempt(client, "ana", "guess number two")
        assert (await attempt(client, "ana", "correct horse")).status_code == 429
        async with hub.db.session() as s:  # let the 30 s go by
            for row in (await s.execute(select(LoginFailure))).scalars():
                row.created_at = row.created_at - timedelta(seconds=31)
            await s.commit()
        assert (await attempt(client, "ana", "correct horse")).status_code == 200
        # the success cleared the failures: a single typo is a plain 401 again
        assert (await attempt(client, "ana", "correct horsf")).status_code == 401


async def test_a_disabled_agent_is_refused_and_their_cookie_stops_working(site):
    url, hub = site
    async with login(url, "ana", "correct horse") as (client, _):
        await hub.agents.set_disabled("ana", True)
        assert (await client.get("/api/agent/me")).status_code == 401
        again = await attempt(client, "ana", "correct horse")
        assert again.status_code == 401 and again.json() == {"error": "wrong username or password"}
    await hub.agents.set_disabled("ana", False)
    async with login(url, "ana", "correct horse"):
        pass


# ---------------------------------------------------------------- live sockets and sessions


def live_socket(url: str, client: httpx.AsyncClient) -> websockets.connect:
    cookie = client.cookies.get("sb_session")
    return websockets.connect(
        url.replace("http", "ws") + "/api/agent/ws",
        additional_headers={"Cookie": f"sb_session={cookie}"},
    )


async def closed_with(socket: websockets.ClientConnection) -> tuple[int, str]:
    """The close code and reason the server sends next; no event may come before it."""
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            event = await socket.recv()
            pytest.fail(f"an event reached an ended session: {event!r}")
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_logout_closes_that_sessions_sockets_only(site):
    url, hub = site
    async with (
        login(url, "ana", "correct horse") as (laptop, laptop_csrf),
        login(url, "ana", "correct horse") as (phone, _),
    ):
        async with live_socket(url, laptop) as laptop_ws, live_socket(url, phone) as phone_ws:
            await hub.events.broadcast({"type": "queue"})
            assert json.loads(await laptop_ws.recv()) == {"type": "queue"}
            assert json.loads(await phone_ws.recv()) == {"type": "queue"}
            response = await laptop.post("/api/agent/logout", headers={"X-CSRF-Token": laptop_csrf})
            assert response.status_code == 200
            assert await closed_with(laptop_ws) == (4401, "logged out")
            await hub.events.broadcast({"type": "queue"})
            assert json.loads(await phone_ws.recv()) == {"type": "queue"}  # still live


async def test_an_expired_sessions_socket_is_closed_on_the_next_event(site):
    url, hub = site
    async with login(url, "ana", "correct horse") as (client, _):
        async with live_socket(url, client) as socket:
            await hub.events.broadcast({"type": "queue"})
            assert json.loads(await socket.recv()) == {"type": "queue"}
            await expire_sessions(hub)
            hub.events.clock = lambda: utcnow() + timedelta(hours=13)  # past the 12 h lifetime
            await hub.events.broadcast({"type": "queue", "secret": "not for you"})
            assert await closed_with(socket) == (4401, "session expired")
        assert (await client.get("/api/agent/me")).status_code == 401


async def test_sockets_are_closed_when_their_session_ends_elsewhere(site):
    """Expiry, a reset or disabling done by the CLI or another hub: found by the periodic check."""
    url, hub = site
    hub.events.recheck_seconds = 0.05
    async with login(url, "ana", "correct horse") as (ana, _):
        async with live_socket(url, ana) as socket:
            await expire_sessions(hub)
            assert await closed_with(socket) == (4401, "session ended")
    async with login(url, "ana", "correct horse") as (ana, _):
        async with live_socket(url, ana) as socket:
            await hub.agents.set_disabled("ana", True)
            assert await closed_with(socket) == (4401, "session ended")
    await hub.agents.set_disabled("ana", False)
    async with login(url, "ana", "correct horse") as (ana, _):
        async with live_socket(url, ana) as socket:
            await hub.agents.reset_password("ana", "a fresh passphrase")
            assert await closed_with(socket) == (4401, "session ended")


async def expire_sessions(hub: Hub) -> None:
    async with hub.db.session() as s:
        await s.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
