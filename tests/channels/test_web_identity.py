"""Who the customer is, as the shop's page says (issue 12): name, e-mail and attributes reach
the router in the IncomingMessage's Customer over REST and the websocket; bad identity is a
clear 400 or an error frame, and the socket stays open."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import websockets
from fastapi import FastAPI

from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.messages import IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.fake_rasa import FakeRasa
from tests.support import serve


class SeenRouter(Router):
    """The real router, remembering every message a channel hands it."""

    seen: list[IncomingMessage]

    async def handle(self, msg: IncomingMessage, replay: bool = False) -> list[OutgoingMessage]:
        self.seen.append(msg)
        return await super().handle(msg, replay)


@dataclass
class Hub:
    url: str
    http: httpx.AsyncClient
    router: SeenRouter
    rasa: FakeRasa
    seen: list[IncomingMessage] = field(default_factory=list)

    async def chat(self) -> tuple[str, dict[str, str]]:
        body = (await self.http.post("/api/chat/sessions")).json()
        return body["session"], {"authorization": f"Bearer {body['token']}"}

    def ws(self):  # type: ignore[no-untyped-def]
        return websockets.connect(self.url.replace("http", "ws") + "/ws")


@pytest.fixture
async def hub(sqlite_store: Store, settings: Settings) -> AsyncIterator[Hub]:
    fake = FakeRasa()
    async with serve(fake.app()) as rasa_url:
        rasa = RasaClient(rasa_url)
        router = SeenRouter(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
        router.seen = []
        channel = WebChannel(router, settings)
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
            yield Hub(url, http, router, fake)


ATTRIBUTES = {"plan": "pro", "order_number": "A-1042", "page_url": "https://shop.example/cart"}


async def test_rest_delivers_name_email_and_attributes_to_the_router(hub: Hub):
    session, auth = await hub.chat()
    body = {"text": "hi", "name": "Ana", "email": "ana@example.com", "attributes": ATTRIBUTES}
    response = await hub.http.post("/api/chat", json=body, headers=auth)
    assert response.status_code == 200, response.text
    customer = hub.router.seen[-1].customer
    assert (customer.external_id, customer.display_name) == (session, "Ana")
    assert (customer.email, customer.attributes) == ("ana@example.com", ATTRIBUTES)


async def test_the_socket_remembers_what_the_page_said_for_every_message(hub: Hub):
    session, auth = await hub.chat()
    async with hub.ws() as ws:
        await ws.send(json.dumps({"type": "auth", "token": auth["authorization"][7:]}))
        assert json.loads(await ws.recv())["type"] == "ready"
        identify = {"type": "identify", "id": "i1", "name": "Ana", "email": "ana@example.com"}
        await ws.send(json.dumps({**identify, "attributes": ATTRIBUTES}))
        assert json.loads(await ws.recv()) == {"type": "identified", "reply_to": "i1"}
        for text in ("first", "second"):
            await ws.send(json.dumps({"type": "message", "text": text}))
            assert json.loads(await ws.recv())["messages"][0]["text"] == f"echo: {text}"
        # a message may add to it: its own attributes over the page's
        await ws.send(json.dumps({"text": "third", "attributes": {"plan": "team"}}))
        await ws.recv()
    customers = [m.customer for m in hub.router.seen]
    assert [c.email for c in customers] == ["ana@example.com"] * 3
    assert customers[0].attributes == customers[1].attributes == ATTRIBUTES
    assert customers[2].attributes == {**ATTRIBUTES, "plan": "team"}
    assert {c.display_name for c in customers} == {"Ana"} and customers[0].external_id == session


BAD = [
    ({"email": "not an address"}, "'email'"),
    ({"email": "ana@localhost"}, "'email'"),
    ({"email": 5}, "'email'"),
    ({"attributes": ["plan", "pro"]}, "'attributes' must be a JSON object"),
    ({"attributes": {f"k{i}": "v" for i in range(21)}}, "at most 20"),
    ({"attributes": {"Plan": "pro"}}, "'Plan'"),
    ({"attributes": {"order-number": "1"}}, "'order-number'"),
    ({"attributes": {"x" * 41: "1"}}, "1-40 lowercase"),
    ({"attributes": {"plan": 3}}, "'plan' must be a string"),
    ({"attributes": {"plan": "p" * 201}}, "at most 200"),
    ({"attributes": {"plan": "a\u0000b"}}, "NUL"),
    ({"name": "n" * 256}, "'name'"),
]


@pytest.mark.parametrize(("extra", "error"), BAD)
async def test_bad_identity_over_rest_is_a_clear_400_and_nothing_reaches_the_router(
    hub: Hub, extra: dict, error: str
):
    _, auth = await hub.chat()
    for headers in (auth, {}):
        response = await hub.http.post("/api/chat", json={"text": "hi", **extra}, headers=headers)
        assert response.status_code == 400, response.text
        assert error in response.json()["error"]
    assert hub.router.seen == [] and hub.rasa.received == []


async def test_bad_identity_on_the_socket_is_an_error_frame_and_the_socket_stays_open(hub: Hub):
    _, auth = await hub.chat()
    async with hub.ws() as ws:
        await ws.send(json.dumps({"type": "auth", "token": auth["authorization"][7:]}))
        await ws.recv()
        await ws.send(json.dumps({"type": "identify", "email": "ana@example.com"}))
        assert json.loads(await ws.recv())["type"] == "identified"
        for n, (extra, error) in enumerate(BAD):
            for kind in ("identify", "message"):
                await ws.send(json.dumps({"type": kind, "text": "hi", "id": n, **extra}))
                frame = json.loads(await ws.recv())
                assert frame["type"] == "error" and frame["status"] == 400, frame
                assert error in frame["error"]
                assert frame.get("reply_to") == (None if error == "NUL" else n)  # NUL: unread
        await ws.send(json.dumps({"type": "message", "text": "still there?"}))
        assert json.loads(await ws.recv())["messages"][0]["text"] == "echo: still there?"
    # a refused identify leaves the last good one in place
    assert [m.customer.email for m in hub.router.seen] == ["ana@example.com"]
