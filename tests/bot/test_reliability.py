"""Every stored message gets an answer, whatever dies in between; Rasa and the hub trust only
each other. Real databases, real HTTP, a local fake of Rasa's HTTP API."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy import update

from bot.app import create_app
from bot.conversation.router import RASA_DOWN, STILL_WAITING, Router
from bot.handoff.handoffs import Handoffs
from bot.hub import Hub
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.rasa.process import write_endpoints
from bot.settings import Settings
from bot.storage.db import Database, StorageUnavailable
from bot.storage.models import Conversation, Message, utcnow
from bot.storage.repo import Store
from tests.channels.fake_telegram import FakeTelegram
from tests.conftest import PG_ADMIN_DSN, free_port
from tests.fake_rasa import FakeRasa
from tests.support import serve


def msg(text: str, vendor_id: str | None = None) -> IncomingMessage:
    return IncomingMessage("web", "s1", text, Customer("s1"), vendor_id, "en")


class Delivered(list[tuple[str, list[str]]]):
    """What the router pushed to customers outside a request (late replies)."""

    async def __call__(self, conversation: Conversation, replies: list[OutgoingMessage]) -> None:
        self.append((conversation.key, [r.text for r in replies]))


def router_for(store: Store, url: str, **client: Any) -> tuple[Router, Delivered]:
    rasa = RasaClient(url, **client)
    delivered = Delivered()
    router = Router(store, rasa, Handoffs(store.db, store, rasa), deliver=delivered)
    return router, delivered


@pytest.fixture
async def fake_rasa() -> AsyncIterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    async with serve(fake.app()) as url:
        yield fake, url
        fake.stuck, fake.delay = False, 0.0  # the server finishes what it holds and stops


async def backdate(store: Store, message_id: int, seconds: float) -> None:
    """As if the message had been stored that long ago (by a hub that died since)."""
    async with store.db.session() as s:
        when = utcnow() - timedelta(seconds=seconds)
        await s.execute(update(Message).where(Message.id == message_id).values(created_at=when))
        await s.commit()


async def statuses(store: Store) -> list[str]:
    return [m.status for m in await store.transcript("web:s1") if m.direction == "in"]


# --- Rasa slow or dead ---------------------------------------------------------------------


async def test_a_slow_but_healthy_rasa_is_waited_for(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.delay = 1.0  # longer than the timeout, but Rasa's /status keeps answering
    router, _ = router_for(store, url, timeout=0.3)
    replies = await router.handle(msg("hello"))
    assert [r.text for r in replies] == ["echo: hello"]
    assert await statuses(store) == ["processed"]


async def test_a_stuck_rasa_is_given_up_when_its_health_fails(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.stuck = True
    router, _ = router_for(store, url, timeout=0.3, max_wait=600)
    replies = await router.handle(msg("hello"))  # long before the 600 s cap
    assert replies[0].text == RASA_DOWN
    assert await statuses(store) == ["pending"]


async def test_a_turn_that_takes_too_long_is_given_up_at_the_cap(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.delay = 30.0
    router, _ = router_for(store, url, timeout=0.2, max_wait=0.6)
    assert (await router.handle(msg("hello")))[0].text == RASA_DOWN


async def test_a_turn_rasa_answered_too_late_is_not_sent_twice(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.delay = 1.5  # Rasa finishes the turn after the hub gave up on it
    router, delivered = router_for(store, url, timeout=0.2, max_wait=0.5)
    assert (await router.handle(msg("where is my order?")))[0].text == RASA_DOWN
    while not fake.received:  # Rasa logs the turn in its tracker
        await asyncio.sleep(0.05)
    fake.delay = 0.0
    assert await router.retry_pending() == 1
    assert delivered == [("web:s1", ["echo: where is my order?"])]  # from Rasa's tracker
    assert [b["message"] for b in fake.received] == ["where is my order?"]  # sent once
    assert fake.received[0]["metadata"]["message_id"] == (await store.transcript("web:s1"))[0].id
    assert await statuses(store) == ["processed"]


async def test_every_message_during_a_rasa_outage_gets_an_honest_reply(store: Store):
    router, _ = router_for(store, f"http://127.0.0.1:{free_port()}", timeout=1)
    first = await router.handle(msg("hello"))
    later = [await router.handle(msg(text)) for text in ("hello??", "anyone?")]
    assert [r.text for r in first] == [RASA_DOWN]
    assert [[r.text for r in replies] for replies in later] == [[STILL_WAITING]] * 2
    transcript = await store.transcript("web:s1")
    assert [m.status for m in transcript if m.direction == "in"] == ["pending"] * 3
    assert [m.text for m in transcript if m.direction == "out"] == [
        RASA_DOWN,
        STILL_WAITING,
        STILL_WAITING,
    ]
    ru = IncomingMessage("web", "s2", "Алло?", Customer("s2"), None, "ru")
    await router.handle(ru)
    assert [r.text for r in await router.handle(ru)] == [t("still_waiting", "ru")]


# --- stored but never answered --------------------------------------------------------------


class DiesWhileStoringReplies(Store):
    """The hub process dies (a kill -9) as it writes the answer to the database."""

    async def store_outgoing(self, *args: Any, **kwargs: Any) -> list[Message]:
        raise RuntimeError("the hub died")


async def test_a_hub_dying_as_it_stores_the_answer_leaves_the_message_to_be_answered(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    dying, _ = router_for(DiesWhileStoringReplies(store.db), url)
    with pytest.raises(RuntimeError):
        await dying.handle(msg("hello", "v1"))
    # not marked answered without its answer: another hub's recovery answers it, and Rasa's
    # tracker gives the replies instead of the message being sent twice
    assert await statuses(store) == ["received"]
    survivor, delivered = router_for(store, url)
    assert await survivor.recover(older_than=timedelta(0)) == 1
    assert delivered == [("web:s1", ["echo: hello"])]
    assert await statuses(store) == ["processed"]
    assert len(fake.received) == 1


async def test_the_web_chat_resending_an_answered_message_gets_the_same_answer(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    router, _ = router_for(store, url)
    first = await router.handle(msg("hello", "v1"))
    assert [r.text for r in first] == ["echo: hello"]
    await router.handle(msg("and another thing", "v2"))
    # the response was lost on the way: the widget sends it again, and gets what it missed
    again = await router.handle(msg("hello", "v1"), replay=True)
    assert again == first
    assert await router.handle(msg("hello", "v1")) == []  # Telegram, Slack: nothing twice
    assert len(fake.received) == 2


async def test_a_resent_message_that_was_stored_but_never_answered_is_answered(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    await store.store_incoming(msg("hello", "v1"))  # then the hub died
    router, _ = router_for(store, url)
    replies = await router.handle(msg("hello", "v1"))  # the channel delivers it again
    assert [r.text for r in replies] == ["echo: hello"]
    assert await router.handle(msg("hello", "v1")) == []  # answered once
    assert len(fake.received) == 1
    assert await statuses(store) == ["processed"]


async def test_messages_left_received_are_answered_and_pushed_to_the_customer(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    stored = await store.store_incoming(msg("where is my order?"))  # then the hub died
    router, delivered = router_for(store, url)
    assert await router.recover(timedelta(seconds=5)) == 0  # just stored: maybe in hand
    await backdate(store, stored.message.id, 60)
    assert await router.recover(timedelta(seconds=5)) == 1
    assert delivered == [("web:s1", ["echo: where is my order?"])]
    assert await statuses(store) == ["processed"]
    assert await router.recover(timedelta(seconds=5)) == 0


async def test_a_message_rasa_answered_before_the_hub_died_is_not_sent_again(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    stored = await store.store_incoming(msg("where is my order?"))
    message_id = stored.message.id
    # the hub sent it, Rasa answered and logged the turn, the hub died before storing replies
    await store.mark_sent(message_id, utcnow() - timedelta(minutes=5))
    fake.trackers["web:s1"] = [
        {"event": "user", "text": "where is my order?", "metadata": {"message_id": message_id}},
        {"event": "bot", "text": "It ships tomorrow.", "data": {"buttons": None}},
        {"event": "user", "text": "later turn", "metadata": {"message_id": message_id + 1}},
        {"event": "bot", "text": "not this one", "data": {}},
    ]
    await backdate(store, message_id, 60)
    router, delivered = router_for(store, url)
    assert await router.recover(timedelta(seconds=5)) == 1
    assert delivered == [("web:s1", ["It ships tomorrow."])]
    assert fake.received == []
    assert [m.text for m in await store.transcript("web:s1")][-1] == "It ships tomorrow."


async def test_a_message_being_handled_by_this_hub_is_not_recovered_twice(store: Store, fake_rasa):
    fake, url = fake_rasa
    fake.delay = 1.0
    router, delivered = router_for(store, url)
    handling = asyncio.create_task(router.handle(msg("hello")))
    while not (await store.transcript("web:s1")):
        await asyncio.sleep(0.02)
    assert await router.recover(timedelta(0)) == 0  # its conversation's lock is held
    assert [r.text for r in await handling] == ["echo: hello"]
    assert delivered == [] and len(fake.received) == 1


async def test_an_over_long_text_is_stored_cut_with_its_length_and_the_customer_told(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    rasa = RasaClient(url)
    router = Router(store, rasa, Handoffs(store.db, store, rasa), max_chars=100)
    replies = await router.handle(msg("x" * 250, "long"))
    assert replies[0].text == t("too_long", "en", length=250, limit=100)
    stored = (await store.transcript("web:s1"))[0]
    assert (stored.text, stored.length, stored.status) == ("x" * 100, 250, "rejected")
    assert fake.received == []
    again = await router.handle(msg("x" * 250, "long"))  # resent: told again, not silence
    assert again[0].text == replies[0].text


# --- the database goes away -------------------------------------------------------------------


def _swap(path: Path, aside: Path) -> None:
    path.rename(aside)
    path.mkdir()  # a directory where the file was: SQLite cannot open it


def _swap_back(path: Path, aside: Path) -> None:
    path.rmdir()
    aside.rename(path)


@asynccontextmanager
async def outage(db: Database) -> AsyncIterator[None]:
    """Make the database unreachable for real, then bring it back."""
    await db.engine.dispose()  # open connections would hide the outage
    if db.is_sqlite:
        path = Path(db.url.split("///", 1)[-1])
        _swap(path, path.with_suffix(".away"))
        try:
            yield
        finally:
            _swap_back(path, path.with_suffix(".away"))
        return
    name = db.url.rsplit("/", 1)[-1]
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


async def test_a_database_outage_is_a_typed_error_and_the_hub_recovers_by_itself(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    router, _ = router_for(store, url)
    assert [r.text for r in await router.handle(msg("hello", "a"))] == ["echo: hello"]
    async with outage(store.db):
        with pytest.raises(StorageUnavailable):
            await router.handle(msg("are you there?", "b"))
        with pytest.raises(StorageUnavailable):
            await router.recover(timedelta(0))
    # back: the same message, sent again, is answered; nothing is stuck
    assert [r.text for r in await router.handle(msg("are you there?", "b"))] == [
        "echo: are you there?"
    ]
    assert await statuses(store) == ["processed", "processed"]


# --- the hub and Rasa: shared secrets, a persistent tracker store ------------------------------


@pytest.fixture
def hub_settings(settings: Settings) -> Settings:
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True)
    return settings.with_(
        rasa_managed=False, rasa_url=f"http://127.0.0.1:{free_port()}", articles_dir=empty_kb
    )


def forged_gap_call() -> dict[str, Any]:
    """What the issue's attacker sent: a made-up tracker of somebody else's conversation."""
    events = [
        {"event": "user", "text": "where is my parcel"},
        {"event": "user", "text": "that didn't help"},
    ]
    return {
        "next_action": "action_log_gap",
        "sender_id": "web:victim",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "web:victim",
            "slots": {},
            "latest_message": {"text": "that didn't help"},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
    }


async def test_the_action_webhook_runs_only_with_the_token_shared_with_rasa(
    hub_settings: Settings,
):
    hub = Hub(hub_settings)
    token = hub.settings.action_token
    assert len(token) >= 32 and token != Hub(hub_settings).settings.action_token  # random
    async with serve(create_app(hub)) as url, httpx.AsyncClient(base_url=url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            response = await http.post("/webhook", json=forged_gap_call(), headers=headers)
            assert response.status_code == 401, response.text
            assert response.json() == {"error": "missing or wrong action token"}
        assert await hub.store.gaps() == []  # nothing executed
        rasa = {"Authorization": f"Bearer {token}"}
        for body in (b'{"next_action": ', b"[1, 2]", b'{"a": "\\ud800"}', b"\xff\xfe"):
            response = await http.post("/webhook", content=body, headers=rasa)
            assert response.status_code == 400, response.text
        response = await http.post("/webhook", json=forged_gap_call(), headers=rasa)
        assert response.status_code == 200, response.text
        assert [g.question for g in await hub.store.gaps()] == ["where is my parcel"]


async def test_an_action_token_from_the_settings_is_used_as_given(hub_settings: Settings):
    hub = Hub(hub_settings.with_(action_token="configured-token"))
    async with serve(create_app(hub)) as url, httpx.AsyncClient(base_url=url) as http:
        headers = {"Authorization": "Bearer configured-token"}
        response = await http.post("/webhook", json=forged_gap_call(), headers=headers)
        assert response.status_code == 200, response.text


async def test_rasa_is_given_both_tokens_and_a_persistent_tracker_store(settings: Settings):
    hub = Hub(settings.with_(rasa_managed=True))
    assert hub.supervisor is not None and hub.settings.rasa_token
    command = hub.supervisor.command()
    assert command[command.index("--auth-token") + 1] == hub.settings.rasa_token
    path = Path(command[command.index("--endpoints") + 1])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # it holds secrets
    endpoints = yaml.safe_load(await asyncio.to_thread(path.read_text))
    assert endpoints["action_endpoint"] == {
        "url": hub.settings.webhook_url,
        "headers": {"Authorization": f"Bearer {hub.settings.action_token}"},
    }
    assert endpoints["tracker_store"] == {
        "type": "SQL",
        "dialect": "sqlite",
        "db": str(settings.var_dir / "rasa-tracker.db"),
    }
    await hub.db.close()


def test_on_postgresql_rasa_keeps_its_trackers_in_the_hubs_database(settings: Settings):
    pg = settings.with_(database_url="postgresql://bot:secret@db.internal:5432/supportbot")
    endpoints = yaml.safe_load(write_endpoints(pg.with_(action_token="x")).read_text())
    assert endpoints["tracker_store"] == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "postgresql://bot:secret@db.internal:5432/supportbot",
    }


RASA_STORE_CHECK = """
import asyncio, sys
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

async def main():
    config = read_endpoint_config(sys.argv[1], "tracker_store")
    tracker = DialogueStateTracker("web:x", [])
    tracker.update(UserUttered("hello", metadata={"message_id": 7}))
    await TrackerStore.create(config, Domain.empty()).save(tracker)
    again = await TrackerStore.create(config, Domain.empty()).retrieve("web:x")
    print([e.metadata["message_id"] for e in again.events if isinstance(e, UserUttered)])

asyncio.run(main())
"""


async def test_rasa_opens_the_postgresql_tracker_store_it_is_given(settings: Settings):
    """Rasa's own code reads the endpoints file the hub writes and keeps a tracker there."""
    from tests.conftest import _drop_postgres_database, _postgres_database

    name = await _postgres_database()
    try:
        url = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
        path = write_endpoints(settings.with_(database_url=url, action_token="x"))
        rasa_python = settings.rasa_venv / "bin" / "python"
        check = await asyncio.create_subprocess_exec(
            str(rasa_python), "-c", RASA_STORE_CHECK, str(path), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await check.communicate()
        assert check.returncode == 0
        assert out.decode().strip().splitlines()[-1] == "[7]"
    finally:
        await _drop_postgres_database(name)


async def test_the_rasa_api_is_called_with_its_auth_token(store: Store):
    fake = FakeRasa(token="rasa-secret")
    async with serve(fake.app()) as url:
        anonymous = RasaClient(url)
        assert not await anonymous.healthy()
        rasa = RasaClient(url, token="rasa-secret")
        assert await rasa.healthy()
        router = Router(store, rasa, Handoffs(store.db, store, rasa))
        await router.handle(msg("handoff please"))  # tracker read + pause event
        assert fake.events == [("web:s1", {"event": "pause"})]
        assert fake.unauthorized == 1  # only the anonymous health check
        await anonymous.close()
        await rasa.close()


async def test_a_hub_started_after_a_crash_answers_what_its_predecessor_stored(
    hub_settings: Settings, fake_rasa
):
    fake, rasa_url = fake_rasa
    telegram = FakeTelegram()
    async with serve(telegram.app()) as telegram_url:
        settings = hub_settings.with_(
            rasa_url=rasa_url,
            telegram_token=telegram.token,
            telegram_api_url=f"{telegram_url}/bot",
        )
        # the hub that died had stored this message and nothing else
        db = Database(settings.db_url)
        await db.migrate()
        customer = IncomingMessage("telegram", "4242", "where is my order?", Customer("4242"))
        stored = await Store(db).store_incoming(customer)
        await backdate(Store(db), stored.message.id, 60)
        await db.close()

        hub = Hub(settings)
        async with serve(create_app(hub)):
            await telegram.wait_for("sendMessage", timeout=30)
            sent = telegram.called("sendMessage")
            assert [(str(c["chat_id"]), c["text"]) for c in sent] == [
                ("4242", "echo: where is my order?")
            ]
            transcript = await hub.store.transcript("telegram:4242")
            assert [m.status for m in transcript if m.direction == "in"] == ["processed"]


async def test_a_turn_a_dead_hub_sent_that_rasa_never_logged_is_sent_again_within_a_minute(
    store: Store, fake_rasa
):
    """The hub was killed between marking the message sent and Rasa logging it: after twice
    Rasa's timeout it is sent again (not after twice the 150 s turn cap: five silent minutes);
    one a live hub gave up on (pending) still waits the long while, as Rasa may be slow."""
    fake, url = fake_rasa
    died = await store.store_incoming(msg("where is my order?", "v1"))
    await store.mark_sent(died.message.id, utcnow() - timedelta(seconds=31))
    await backdate(store, died.message.id, 60)
    gave_up = await store.store_incoming(
        IncomingMessage("web", "s2", "hello?", Customer("s2"), "v2", "en")
    )
    await store.set_status(gave_up.message.id, "pending")
    await store.mark_sent(gave_up.message.id, utcnow() - timedelta(seconds=31))
    router, delivered = router_for(store, url, timeout=15, max_wait=150)
    assert await router.recover(timedelta(seconds=5)) == 1
    assert await router.retry_pending() == 0
    assert delivered == [("web:s1", ["echo: where is my order?"])]
    assert [b["message"] for b in fake.received] == ["where is my order?"]


async def test_a_turn_sent_a_moment_ago_is_neither_sent_again_nor_answered_twice(
    store: Store, fake_rasa
):
    fake, url = fake_rasa
    stored = await store.store_incoming(msg("hello", "v1"))
    await store.mark_sent(stored.message.id, utcnow())  # Rasa may be working on it right now
    await backdate(store, stored.message.id, 60)
    router, delivered = router_for(store, url, timeout=1)
    assert [r.text for r in await router.handle(msg("hello", "v1"))] == [STILL_WAITING]
    assert await router.recover(timedelta(seconds=5)) == 0
    assert fake.received == [] and delivered == []
    assert await statuses(store) == ["received"]  # answered when Rasa's tracker shows it
