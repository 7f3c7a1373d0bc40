"""Two hubs on one PostgreSQL database and one Redis (both real): one customer's messages sent at
once to the two hubs are answered in order (Q A Q A); after a Rasa outage the stored messages
are answered once, by the hub that leads, not once per hub; and an agent's console on one hub
works a customer whose widget is connected to the other, live both ways."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import pytest
import websockets

from bot.app import create_app
from bot.cluster.lease import RedisLeader, RedisLocks, redis_client
from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.hub import Hub
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import Conversation
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.bot.test_slack_desk import desk_settings
from tests.conftest import PG_ADMIN_DSN, _drop_postgres_database, _postgres_database, free_port
from tests.fake_rasa import FakeRasa
from tests.fake_slack import FakeSlack
from tests.support import REDIS_URL, bound_socket, serve


class Pushed(list[str]):
    """Replies a hub pushed to customers outside a request (answers after an outage)."""

    async def __call__(self, conversation: Conversation, replies: list[OutgoingMessage]) -> None:
        self.extend(r.text for r in replies)


class TwoHubs:
    def __init__(self, url: str, rasa_url: str) -> None:
        self.dbs = [Database(url), Database(url)]
        self.stores = [Store(db) for db in self.dbs]
        self.locks = [RedisLocks(redis_client(REDIS_URL)) for _ in self.dbs]
        self.pushed = [Pushed(), Pushed()]
        self.routers: list[Router] = []
        for store, locks, pushed in zip(self.stores, self.locks, self.pushed, strict=True):
            rasa = RasaClient(rasa_url, timeout=1)
            handoffs = Handoffs(store.db, store, rasa)
            router = Router(store, rasa, handoffs, locks=locks, deliver=pushed)
            self.routers.append(router)

    async def close(self) -> None:
        for locks, db in zip(self.locks, self.dbs, strict=True):
            await locks.close()
            await db.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    name = await _postgres_database()
    url = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    db = Database(url)
    await db.migrate()
    await db.close()
    yield url
    await _drop_postgres_database(name)


def customer_message(chat: str, text: str) -> IncomingMessage:
    return IncomingMessage("web", chat, text, Customer(chat), f"{chat}-{text}", "en")


async def test_one_customers_messages_to_two_hubs_stay_in_order(postgres_url: str) -> None:
    fake = FakeRasa(delay=0.3)  # Rasa takes a while: without a shared lock the turns overlap
    async with serve(fake.app()) as rasa_url:
        hubs = TwoHubs(postgres_url, rasa_url)
        chat = uuid.uuid4().hex[:8]
        try:
            await asyncio.gather(
                hubs.routers[0].handle(customer_message(chat, "first")),
                hubs.routers[1].handle(customer_message(chat, "second")),
            )
            transcript = await hubs.stores[0].transcript(f"web:{chat}")
        finally:
            await hubs.close()
    shown = [(m.direction, m.text) for m in transcript]
    assert shown in (
        [("in", "first"), ("out", "echo: first"), ("in", "second"), ("out", "echo: second")],
        [("in", "second"), ("out", "echo: second"), ("in", "first"), ("out", "echo: first")],
    ), shown


async def test_after_a_rasa_outage_each_stored_message_is_answered_once(
    postgres_url: str,
) -> None:
    port = free_port()
    hubs = TwoHubs(postgres_url, f"http://127.0.0.1:{port}")
    chats = [uuid.uuid4().hex[:8] for _ in range(6)]
    for n, chat in enumerate(chats):  # Rasa is down: every message waits, stored as pending
        await hubs.routers[n % 2].handle(customer_message(chat, f"question {n}"))
    name = f"background-{uuid.uuid4().hex[:8]}"
    leaders = [RedisLeader(redis_client(REDIS_URL), name, ttl=2.0, hub=f"hub-{n}") for n in (1, 2)]
    fake = FakeRasa()
    async with serve(fake.app(), bound_socket(port)):  # Rasa is back

        def retry(router: Router):  # type: ignore[no-untyped-def]
            async def loop() -> None:  # what Hub._retry_loop does, every 0.1 s here
                while True:
                    await router.retry_pending()
                    await asyncio.sleep(0.1)

            return loop

        for leader in leaders:
            await leader.start()
        runs = [
            asyncio.create_task(leader.run(retry(router)))
            for leader, router in zip(leaders, hubs.routers, strict=True)
        ]
        try:
            async with asyncio.timeout(15):
                while len(hubs.pushed[0]) + len(hubs.pushed[1]) < len(chats):
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # anything answered twice would show by now
        finally:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            for leader in leaders:
                await leader.stop()
    try:
        answered = sorted(hubs.pushed[0] + hubs.pushed[1])
        assert answered == sorted(f"echo: question {n}" for n in range(len(chats)))
        assert [len(p) for p in hubs.pushed].count(0) == 1  # one hub did the retrying
        assert len(fake.received) == len(chats)  # Rasa was asked once per message
    finally:
        await hubs.close()


# --- live events across hubs: the whole hub, twice, behind no proxy ---------------------------


@asynccontextmanager
async def two_running_hubs(
    settings: Settings, postgres_url: str, rasa_url: str
) -> AsyncIterator[list[tuple[str, Hub]]]:
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True)
    hubs = [
        Hub(
            settings.with_(
                var_dir=settings.var_dir / f"hub{n}",
                database_url=postgres_url,
                redis_url=REDIS_URL,
                rasa_managed=False,
                rasa_url=rasa_url,
                articles_dir=empty_kb,
                routing_auto_assign=False,
            )
        )
        for n in (1, 2)
    ]
    async with serve(create_app(hubs[0])) as one, serve(create_app(hubs[1])) as two:
        yield [(one, hubs[0]), (two, hubs[1])]


async def next_frame(
    socket: websockets.ClientConnection, wanted: str, text: str | None = None
) -> dict[str, Any]:
    """The next frame of type `wanted` (with a message whose text has `text`, when given);
    others (presence, the replies to earlier messages) are skipped."""
    async with asyncio.timeout(10):
        while True:
            frame = json.loads(await socket.recv())
            if frame.get("type") != wanted:
                continue
            if text is None or any(text in m.get("text", "") for m in frame.get("messages", [])):
                return frame


async def test_an_agent_on_hub_1_works_a_customer_on_hub_2_live(
    settings: Settings, postgres_url: str
) -> None:
    fake = FakeRasa()
    async with (
        serve(fake.app()) as rasa_url,
        two_running_hubs(settings, postgres_url, rasa_url) as [(one, hub1), (two, hub2)],
    ):
        await hub1.agents.create("ana", "correct horse", display_name="Ana")
        async with httpx.AsyncClient(base_url=one) as agent:
            login = await agent.post(
                "/api/agent/login", json={"username": "ana", "password": "correct horse"}
            )
            csrf = {"X-CSRF-Token": login.json()["csrf"]}
            cookie = f"sb_session={agent.cookies.get('sb_session')}"
            async with (
                websockets.connect(
                    one.replace("http", "ws") + "/api/agent/ws",
                    additional_headers={"Cookie": cookie},
                ) as console,
                websockets.connect(two.replace("http", "ws") + "/ws") as widget,
            ):
                session = uuid.uuid4().hex[:12]
                web = cast(WebChannel, hub2.channels["web"])
                token = (await web.sessions.issue(session)).token
                await widget.send(json.dumps({"type": "auth", "token": token}))
                assert (await next_frame(widget, "ready"))["session"] == session

                # hub 2 knows Ana is online (on hub 1), so its customer hears the truth
                async with asyncio.timeout(10):
                    while "ana" not in hub2.events.online():
                        await asyncio.sleep(0.1)
                assert hub2.events.online_here() == set()

                # the customer, on hub 2, asks for a person: the console on hub 1 hears of it
                await widget.send(json.dumps({"type": "message", "text": "handoff please"}))
                told = await next_frame(widget, "messages")
                assert told["messages"][0]["text"].startswith(t("agent_online"))
                await next_frame(console, "queue")
                queue = (await agent.get("/api/agent/queue")).json()
                (handoff,) = [
                    h for h in queue["handoffs"] if h["conversation_key"] == f"web:{session}"
                ]

                # what the customer writes while waiting reaches the agent live
                await widget.send(json.dumps({"type": "message", "text": "my order is late"}))
                shown = await next_frame(console, "message")
                assert shown["message"]["text"] == "my order is late"

                # the agent on hub 1 claims and answers: the customer's socket on hub 2 gets it
                claimed = await agent.post(
                    f"/api/agent/handoffs/{handoff['id']}/claim", headers=csrf
                )
                assert claimed.status_code == 200, claimed.text
                joined = await next_frame(widget, "messages", "Ana")
                assert joined["messages"][0]["custom"]["agent"] == "Ana"  # "Ana joined"
                replied = await agent.post(
                    f"/api/agent/handoffs/{handoff['id']}/messages",
                    json={"text": "Hi, Ana here: let me look"},
                    headers=csrf,
                )
                assert replied.status_code == 200, replied.text
                reply = await next_frame(widget, "messages", "let me look")
                assert [m["text"] for m in reply["messages"]] == ["Hi, Ana here: let me look"]
                assert reply["messages"][0]["sender"] == "agent"


async def test_two_hubs_post_each_handoff_to_the_slack_desk_once(
    settings: Settings, postgres_url: str
) -> None:
    """Handoffs queued while the desk was off are posted by the hub that leads, not by both;
    one claimed on either hub updates that one message."""
    db = Database(postgres_url)
    store = Store(db)
    rasa = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=1)  # not running: skipped
    handoffs = Handoffs(db, store, rasa)
    waiting = []
    for chat in ("early-1", "early-2"):
        stored = await store.store_incoming(customer_message(chat, "my order never came"))
        await handoffs.request(stored.conversation, "requested", 0.2, {})
        waiting.append(await handoffs.open_for(stored.conversation.id))
    await rasa.close()
    await db.close()
    slack = FakeSlack(token="xoxb-desk")
    async with serve(slack.app()) as slack_url:
        desk = desk_settings(settings, slack_url)
        async with two_running_hubs(desk, postgres_url, rasa.url) as [(_, hub1), (_, hub2)]:
            assert hub1.desk and hub2.desk

            def posted() -> int:  # handoff messages, not the lines in their threads
                return sum("thread_ts" not in c for c in slack.called("chat.postMessage"))

            async with asyncio.timeout(10):
                while posted() < 2:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # a second hub posting them too would show by now
            assert posted() == 2
            ana = await hub2.agents.create("ana", "correct horse", display_name="Ana")
            first = waiting[0]
            assert first
            await hub2.handoffs.claim(first.id, ana)  # on the hub that may not lead
            async with asyncio.timeout(10):
                while not any("Ana" in json.dumps(c) for c in slack.called("chat.update")):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            assert posted() == 2
            assert sum("Ana" in json.dumps(c) for c in slack.called("chat.update")) == 1
