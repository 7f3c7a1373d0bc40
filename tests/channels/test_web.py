"""The web channel over real HTTP and websockets: server-issued sessions, identity verification,
good and bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import websockets
from fastapi import FastAPI
from sqlalchemy import select

from bot.cluster.events import Event, console_frames
from bot.conversation.router import Router
from bot.conversation.web_sessions import sign
from bot.handoff.context import HandoffViews
from bot.handoff.handoffs import Handoffs
from bot.messages import OutgoingMessage
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.models import Customer, Message, WebSession
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.fake_rasa import FakeRasa
from tests.support import serve, sqlite_outage

SECRET = "shop-identity-secret"


@dataclass
class Chat:
    session: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class Site:
    url: str
    http: httpx.AsyncClient
    channel: WebChannel
    store: Store
    rasa: FakeRasa
    chats: list[Chat] = field(default_factory=list)

    async def open(self, **identity: str) -> Chat:
        response = await self.http.post("/api/chat/sessions", json=identity)
        assert response.status_code == 200, response.text
        body = response.json()
        return Chat(body["session"], body["token"])

    async def say(self, chat: Chat, text: str, **extra: object) -> httpx.Response:
        body = {"session": chat.session, "text": text, **extra}
        return await self.http.post("/api/chat", json=body, headers=chat.auth)

    def ws(self, query: str = "", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        url = self.url.replace("http", "ws") + "/ws" + (f"?{query}" if query else "")
        return websockets.connect(url, additional_headers=headers)

    async def messages(self) -> list[Message]:
        async with self.store.db.session() as s:
            return list((await s.execute(select(Message))).scalars())


async def authed(ws, chat: Chat, language: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    await ws.send(json.dumps({"type": "auth", "token": chat.token, "language": language}))
    return json.loads(await ws.recv())


@pytest.fixture
async def site(sqlite_store: Store, settings: Settings) -> AsyncIterator[Site]:
    fake = FakeRasa()
    async with serve(fake.app()) as rasa_url:
        rasa = RasaClient(rasa_url)
        router = Router(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
        channel = WebChannel(router, settings.with_(identity_secret=SECRET))
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
            yield Site(url, http, channel, sqlite_store, fake)


# --- sessions and tokens ---------------------------------------------------------------------


async def test_a_session_is_issued_with_a_long_random_token_stored_only_as_a_hash(site: Site):
    chat = await site.open()
    other = await site.open()
    assert chat.session != other.session and chat.token != other.token
    assert len(chat.token) >= 43  # 32 random bytes, url-safe base64: 256 bits
    async with site.store.db.session() as s:
        rows = list((await s.execute(select(WebSession))).scalars())
    assert len(rows) == 2
    stored = {value for row in rows for value in (row.token_hash, row.session)}
    assert chat.token not in stored and other.token not in stored


async def test_rest_chat_answers_with_the_token(site: Site):
    chat = await site.open()
    response = await site.say(chat, "hi")
    assert response.status_code == 200
    assert response.json() == {"messages": [{"text": "echo: hi", "buttons": [], "sender": "bot"}]}
    history = (await site.http.get(f"/api/chat/{chat.session}", headers=chat.auth)).json()
    assert [(m["sender"], m["text"]) for m in history["messages"]] == [
        ("customer", "hi"),
        ("bot", "echo: hi"),
    ]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic abc", "Bearer"])
async def test_without_the_right_token_nothing_is_stored_and_nothing_read(
    site: Site, authorization: str | None
):
    victim = await site.open()
    await site.say(victim, "my order number is 12345")
    headers = {"authorization": authorization} if authorization else {}
    write = await site.http.post(
        "/api/chat", json={"session": victim.session, "text": "I am the customer"}, headers=headers
    )
    read = await site.http.get(f"/api/chat/{victim.session}", headers=headers)
    assert write.status_code == 401 and "token" in write.json()["error"]
    assert read.status_code == 401 and "12345" not in read.text
    assert [m.text for m in await site.messages() if m.direction == "in"] == [
        "my order number is 12345"
    ]
    assert len(site.rasa.received) == 1


async def test_one_sessions_token_does_not_open_another_session(site: Site):
    victim, attacker = await site.open(), await site.open()
    await site.say(victim, "secret stuff")
    write = await site.http.post(
        "/api/chat", json={"session": victim.session, "text": "hijack"}, headers=attacker.auth
    )
    read = await site.http.get(f"/api/chat/{victim.session}", headers=attacker.auth)
    assert write.status_code == 401 and read.status_code == 401
    assert "hijack" not in [m.text for m in await site.messages()]


async def test_the_token_alone_names_its_session(site: Site):
    chat = await site.open()
    response = await site.http.post("/api/chat", json={"text": "hello"}, headers=chat.auth)
    assert response.status_code == 200 and "token" not in response.json()
    assert await site.store.conversation(f"web:{chat.session}") is not None


async def test_a_call_without_session_or_token_opens_a_fresh_session_each_time(site: Site):
    first = (await site.http.post("/api/chat", json={"text": "hi"})).json()
    second = (await site.http.post("/api/chat", json={"text": "hi again"})).json()
    assert first["messages"][0]["text"] == "echo: hi"
    assert first["session"] != second["session"]
    follow_up = Chat(first["session"], first["token"])
    assert (await site.say(follow_up, "more")).json()["messages"][0]["text"] == "echo: more"
    history = (await site.http.get(f"/api/chat/{first['session']}", headers=follow_up.auth)).json()
    assert [m["text"] for m in history["messages"]] == ["hi", "echo: hi", "more", "echo: more"]


async def test_a_new_session_has_an_empty_history(site: Site):
    chat = await site.open()
    history = await site.http.get(f"/api/chat/{chat.session}", headers=chat.auth)
    assert history.status_code == 200
    assert history.json()["messages"] == [] and history.json()["more"] is False


async def test_history_comes_in_pages(site: Site):
    chat = await site.open()
    for i in range(5):
        await site.say(chat, f"question {i}")
    url = f"/api/chat/{chat.session}"
    latest = (await site.http.get(url, params={"limit": 4}, headers=chat.auth)).json()
    assert [m["text"] for m in latest["messages"]] == [
        "question 3",
        "echo: question 3",
        "question 4",
        "echo: question 4",
    ]
    assert latest["more"] is True
    before = latest["messages"][0]["id"]
    older = (
        await site.http.get(url, params={"limit": 100, "before": before}, headers=chat.auth)
    ).json()
    assert len(older["messages"]) == 6 and older["more"] is False
    bad = await site.http.get(url, params={"limit": "lots"}, headers=chat.auth)
    assert bad.status_code == 400 and "limit" in bad.json()["error"]


# --- identity verification -------------------------------------------------------------------


async def test_a_verified_customer_has_one_conversation_on_every_device(site: Site):
    signature = sign(SECRET, "user-42")
    phone = await site.open(user_id="user-42", user_hash=signature, email="ana@example.com")
    laptop = await site.open(user_id="user-42", user_hash=signature)
    assert phone.session == laptop.session and phone.token != laptop.token
    await site.say(phone, "asked on the phone")
    history = (await site.http.get(f"/api/chat/{laptop.session}", headers=laptop.auth)).json()
    assert [m["text"] for m in history["messages"]][:1] == ["asked on the phone"]
    async with site.store.db.session() as s:
        customer = (
            await s.execute(select(Customer).where(Customer.external_id == phone.session))
        ).scalar_one()
    assert (customer.verified_id, customer.email) == ("user-42", "ana@example.com")


@pytest.mark.parametrize("user_hash", [None, "0" * 64, sign("another-secret", "user-42")])
async def test_an_unverified_claim_of_a_user_id_is_ignored(site: Site, user_hash: str | None):
    owner = await site.open(user_id="user-42", user_hash=sign(SECRET, "user-42"))
    await site.say(owner, "private question")
    claim = {"user_id": "user-42", **({"user_hash": user_hash} if user_hash else {})}
    response = await site.http.post("/api/chat/sessions", json=claim)
    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert response.json()["session"] != owner.session


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"session": "a b/c", "text": "hi"}', "'session'"),
        (b'{"text": 5}', "'text'"),
        (b'{"text": "   "}', "empty"),
        (b"[" * 10_000 + b"]" * 10_000, "nested"),
        (b'{"text": "\\ud800"}', "surrogate"),
        (b'{"text": "caf\xe9"}', "UTF-8"),
        (b'{"text": "a\\u0000b"}', "NUL"),
        (b'{"text": "hi", "name": {"first": "Ana"}}', "'name'"),
        (b'{"text": "hi", "id": [1]}', "'id'"),
        (b'{"text": "hi", "language": 7}', "'language'"),
    ],
)
async def test_rest_chat_rejects_bad_requests_clearly(site: Site, body: bytes, error: str):
    chat = await site.open()
    for headers in ({}, chat.auth):
        response = await site.http.post("/api/chat", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert error in response.json()["error"]
    assert site.rasa.received == []
    assert await site.messages() == []


@pytest.mark.parametrize(
    ("body", "error"),
    [(b'{"user_id": 5}', "'user_id'"), (b"[]", "JSON object"), (b'{"email": "\\ud800"}', "")],
)
async def test_bad_session_requests_are_400(site: Site, body: bytes, error: str):
    response = await site.http.post("/api/chat/sessions", content=body)
    assert response.status_code == 400 and error in response.json()["error"]


async def test_over_long_message_is_explained(site: Site):
    chat = await site.open()
    response = await site.say(chat, "a" * 5000)
    assert "too long" in response.json()["messages"][0]["text"]
    assert site.rasa.received == []


# --- websocket -------------------------------------------------------------------------------


async def test_websocket_round_trip_after_the_auth_frame(site: Site):
    chat = await site.open()
    async with site.ws() as ws:
        assert await authed(ws, chat, "hr-HR") == {"type": "ready", "session": chat.session}
        await ws.send(json.dumps({"type": "message", "text": "hello", "id": "m1"}))
        frame = json.loads(await ws.recv())
    assert frame["type"] == "messages" and frame["reply_to"] == "m1"
    assert frame["messages"][0]["text"] == "echo: hello"
    assert site.rasa.received[0]["metadata"]["language"] == "hr"


async def test_websocket_token_in_the_handshake_header(site: Site):
    chat = await site.open()
    async with site.ws(headers=chat.auth) as ws:
        assert json.loads(await ws.recv()) == {"type": "ready", "session": chat.session}


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"type": "auth", "token": "guessed"}),
        json.dumps({"type": "message", "text": "let me in"}),
        "{oops",
    ],
)
async def test_a_websocket_without_a_valid_token_is_told_and_closed(site: Site, first: str):
    async with site.ws() as ws:
        await ws.send(first)
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and frame["status"] == 401
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert await site.messages() == []


async def test_credentials_in_the_url_are_refused(site: Site):
    chat = await site.open()
    async with site.ws(f"session={chat.session}&token={chat.token}") as ws:
        frame = json.loads(await ws.recv())
    assert frame["status"] == 401 and "URL" in frame["error"]


async def test_malformed_frames_get_errors_and_the_socket_stays_usable(site: Site):
    chat = await site.open()
    async with site.ws() as ws:
        await authed(ws, chat)
        for bad, error in [
            ("{oops", "not valid JSON"),
            ('"just a string"', "JSON object"),
            ('{"type": "message", "text": ""}', "empty"),
            ('{"type": "message"}', "'text'"),
            ('{"type": "message", "text": "\\ud800"}', "surrogate"),
            ('{"type": "message", "text": "hi", "name": []}', "'name'"),
            ("[" * 5000 + "]" * 5000, "nested"),
            ('{"type": "dance"}', "frames look like"),
            (b"\x00\x01binary", "binary"),
        ]:
            await ws.send(bad)
            frame = json.loads(await ws.recv())
            assert frame["type"] == "error" and error in frame["error"], frame
        await ws.send(json.dumps({"text": "still there?"}))
        frame = json.loads(await ws.recv())
        assert frame["messages"][0]["text"] == "echo: still there?"


async def test_push_reaches_only_the_sessions_own_sockets(site: Site):
    chat, stranger = await site.open(), await site.open()
    async with site.ws() as ws, site.ws() as other:
        await authed(ws, chat)
        await authed(other, stranger)
        await site.channel.send(chat.session, [OutgoingMessage("late answer", sender="agent")])
        frame = json.loads(await ws.recv())
        await site.channel.send(stranger.session, [OutgoingMessage("yours", sender="agent")])
        theirs = json.loads(await other.recv())
    assert frame["messages"][0] == {"text": "late answer", "buttons": [], "sender": "agent"}
    assert theirs["messages"][0]["text"] == "yours"


async def test_demo_page_embeds_the_widget_with_one_script_tag(site: Site):
    page = (await site.http.get("/")).text
    assert '<script src="/widget.js"' in page
    script = await site.http.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "textContent" in script.text and "innerHTML" not in script.text
    assert "/api/chat/sessions" in script.text and "?session=" not in script.text


async def test_the_agent_sees_who_the_shop_vouched_for(site: Site):
    verified = await site.open(
        user_id="user-42", user_hash=sign(SECRET, "user-42"), email="ana@example.com"
    )
    claimed = await site.open(user_id="user-43", user_hash="f" * 64, email="ceo@example.com")
    seen = {}
    for chat in (verified, claimed):
        await site.say(chat, "handoff please")
        conversation = await site.store.conversation(f"web:{chat.session}")
        assert conversation is not None
        handoff = await site.channel.router.handoffs.open_for(conversation.id)
        assert handoff is not None
        context = await HandoffViews(site.store.db).context(handoff.id)
        assert context is not None
        seen[chat.session] = (context["customer"]["verified"], context["customer"]["email"])
    assert seen[verified.session] == ("user-42", "ana@example.com")
    assert seen[claimed.session] == (None, None)  # an unverified claim leaves no trace


async def test_a_database_outage_is_a_503_and_an_error_frame_then_it_recovers(site: Site):
    chat = await site.open()
    async with site.ws() as ws:
        await authed(ws, chat)
        async with sqlite_outage(site.store.db):
            down = await site.say(chat, "are you there?")
            fresh = await site.http.post("/api/chat/sessions")
            await ws.send(json.dumps({"type": "message", "text": "hello?", "id": "m1"}))
            frame = json.loads(await ws.recv())
        assert down.status_code == 503 and "try again" in down.json()["error"]
        assert fresh.status_code == 503
        assert frame == {
            "type": "error",
            "error": frame["error"],
            "status": 503,
            "reply_to": "m1",
        }
        await ws.send(json.dumps({"type": "message", "text": "back?"}))  # the same socket
        assert json.loads(await ws.recv())["messages"][0]["text"] == "echo: back?"
    assert (await site.say(chat, "and now?")).json()["messages"][0]["text"] == "echo: and now?"


# --- the waiting customer (issue 12) ---------------------------------------------------------


async def test_the_transcript_tells_where_the_conversation_stands_and_who_wrote(site: Site):
    from bot.console.auth import AgentDirectory

    chat = await site.open()
    assert (await site.say(chat, "handoff please")).status_code == 200
    history = (await site.http.get(f"/api/chat/{chat.session}", headers=chat.auth)).json()
    assert history["status"] == {"state": "queued", "position": 1, "wait_minutes": None}
    handoffs = site.channel.router.handoffs
    ana = await AgentDirectory(site.store.db).create("ana", "correct horse", display_name="Ana")
    conversation = await site.store.conversation(f"web:{chat.session}")
    assert conversation
    handoff = await handoffs.open_for(conversation.id)
    assert handoff
    events: list[dict] = []

    async def notify(event: Event) -> None:
        events.extend(console_frames(event))

    handoffs.bus.subscribe(notify, ["typing"])
    await handoffs.claim(handoff.id, ana)
    await handoffs.reply(handoff.id, ana, "Hello, Ana here")
    history = (await site.http.get(f"/api/chat/{chat.session}", headers=chat.auth)).json()
    assert history["status"] == {"state": "with_agent", "agent": "Ana"}
    assert [(m["sender"], m["agent"]) for m in history["messages"][-2:]] == [
        ("system", "Ana"),
        ("agent", "Ana"),
    ]
    async with site.ws() as ws:
        assert (await authed(ws, chat))["type"] == "ready"
        events.clear()
        await ws.send(json.dumps({"type": "typing"}))
        await ws.send(json.dumps({"type": "message", "text": "thanks", "id": 7}))
        answered = json.loads(await ws.recv())  # frames are handled in order
        assert answered["reply_to"] == 7 and answered["messages"] == []  # Ana is there
        await site.channel.signal(chat.session, {"type": "typing", "agent": "Ana"})
        assert json.loads(await ws.recv()) == {"type": "typing", "agent": "Ana"}
    key = f"web:{chat.session}"
    assert events == [{"type": "typing", "conversation": key, "handoff_id": handoff.id}]
