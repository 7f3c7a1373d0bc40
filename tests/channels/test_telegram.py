"""The Telegram channel: the real python-telegram-bot `Bot` against a local fake Bot API, the
real router and a fake Rasa; updates are recorded payloads of real Telegram updates."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.cluster.lease import RedisLeader, redis_client
from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.i18n import t
from bot.messages import Button, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.models import Customer
from bot.storage.repo import Store
from channels.registry import CHANNELS
from channels.telegram import SECRET_HEADER, TelegramChannel, TelegramConfigError
from tests.channels.fake_telegram import FakeTelegram
from tests.fake_rasa import FakeRasa
from tests.support import REDIS_URL, serve, sqlite_outage

UPDATES = Path(__file__).parent / "telegram_updates"
TEXT_ONLY = t("text_only", "en")  # the recorded users speak English or German (no catalog)
SECRET = "s3cret_Token-42"
CHAT = 5005001
KEY = f"telegram:{CHAT}"


def update(name: str, **changes: Any) -> dict[str, Any]:
    data = json.loads((UPDATES / f"{name}.json").read_text())
    data.update(changes)
    return data


@dataclass
class Tg:
    http: httpx.AsyncClient
    channel: TelegramChannel
    store: Store
    rasa: FakeRasa
    api: FakeTelegram

    async def post(self, body: Any, secret: str | None = SECRET) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post("/telegram/webhook", content=content, headers=headers)

    async def transcript(self) -> list[tuple[str, str]]:
        return [(m.sender, m.text) for m in await self.store.transcript(KEY)]

    def sent(self) -> list[str]:
        return [c["text"] for c in self.api.called("sendMessage")]


async def _running(sqlite_store: Store, settings: Settings) -> AsyncIterator[Tg]:
    rasa_fake, api = FakeRasa(), FakeTelegram()
    async with serve(rasa_fake.app()) as rasa_url, serve(api.app()) as api_url:
        rasa = RasaClient(rasa_url)
        router = Router(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
        channel = TelegramChannel(
            router, settings.with_(telegram_token=api.token, telegram_api_url=f"{api_url}/bot")
        )
        channel.poll_timeout, channel.backoff_base = 1, 0.05
        app = FastAPI()
        app.include_router(channel.routes())
        await channel.start()
        try:
            async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
                yield Tg(http, channel, sqlite_store, rasa_fake, api)
        finally:
            await channel.stop()
            await rasa.close()


@pytest.fixture
async def hook(sqlite_store: Store, settings: Settings) -> AsyncIterator[Tg]:
    """Webhook mode."""
    webhook = settings.with_(
        telegram_webhook_url="https://support.example/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    async for tg in _running(sqlite_store, webhook):
        await tg.api.wait_for("setWebhook")
        yield tg


@pytest.fixture
async def polling(sqlite_store: Store, settings: Settings) -> AsyncIterator[Tg]:
    async for tg in _running(sqlite_store, settings):
        yield tg


async def test_webhook_update_is_answered_in_plain_text_and_stored(hook: Tg):
    assert hook.api.called("setWebhook") == [
        {
            "url": "https://support.example/telegram/webhook",
            "secret_token": SECRET,
            "allowed_updates": ["message", "edited_message", "callback_query"],
        }
    ]
    response = await hook.post(
        update("text", message={**update("text")["message"], "text": "<b>where</b> *is* my card?"})
    )
    assert response.status_code == 200
    [sent] = hook.api.called("sendMessage")
    assert sent == {
        "chat_id": str(CHAT),
        "text": "echo: &lt;b&gt;where&lt;/b&gt; *is* my card?",  # shown literally, not bold
        "parse_mode": "HTML",
    }
    assert await hook.transcript() == [
        ("customer", "<b>where</b> *is* my card?"),
        ("bot", "echo: <b>where</b> *is* my card?"),
    ]
    assert hook.rasa.received[0]["metadata"]["language"] == "en"
    async with hook.store.db.session() as s:
        customer = (await s.execute(select(Customer))).scalar_one()
    assert (customer.channel, customer.external_id) == ("telegram", str(CHAT))
    assert customer.display_name == "Ada Lovelace (@ada_l)"


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x"])
async def test_forged_or_missing_secret_is_rejected_and_nothing_stored(
    hook: Tg, secret: str | None
):
    response = await hook.post(update("text"), secret=secret)
    assert response.status_code == 403
    assert await hook.store.conversation(KEY) is None
    assert hook.rasa.received == [] and hook.api.called("sendMessage") == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"message": {"text": "hi"}}', b'{"update_id": 5, "message": "hi"}'],
)
async def test_malformed_body_is_a_400_not_a_crash(hook: Tg, body: bytes):
    response = await hook.post(body)
    assert response.status_code == 400
    assert "not a Telegram update" in response.json()["error"]
    assert await hook.store.conversation(KEY) is None
    # and the channel still works
    assert (await hook.post(update("text"))).status_code == 200
    assert hook.sent() == ["echo: where is my card?"]


def changed(name: str, path: str, value: Any) -> bytes:
    """A recorded update with the field at `path` (dotted) set to `value`, or removed (None)."""
    data = update(name)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (changed("text", "message.chat", None), "update.message.chat is missing"),
        (changed("text", "message.chat", {"type": "private"}), "message.chat.id is missing"),
        (changed("text", "message.chat.id", "5005001"), "chat.id must be an integer"),
        (changed("text", "message.chat.id", True), "chat.id must be an integer"),
        (changed("text", "message.text", 42), "message.text must be a string"),
        (changed("text", "message.from.language_code", {}), "language_code must be a string"),
        (changed("text", "message.from", []), "message.from must be an object"),
        (changed("callback_query", "callback_query.from", None), "callback_query.from is"),
        (changed("callback_query", "callback_query.data", ["x"]), "data must be a string"),
        (changed("text", "update_id", "815570001"), "update_id must be an integer"),
        (b'{"update_id": 1, "message": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"update_id": 1, "message": {"text": "\\ud800"}}', "unpaired surrogate"),
        (b'{"update_id": 1, "message": {"text": "a\\u0000b"}}', "NUL"),
        (b'{"update_id": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested more than"),
    ],
    ids=[
        "no chat", "chat without id", "chat id text", "chat id bool", "text a number",
        "language an object", "from a list", "button without from", "button data a list",
        "update id text", "invalid utf-8", "lone surrogate", "NUL", "deep nesting",
    ],
)  # fmt: skip
async def test_a_malformed_update_is_a_400_with_the_reason(hook: Tg, body: bytes, reason: str):
    response = await hook.post(body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert await hook.store.conversation(KEY) is None
    assert (await hook.post(update("text"))).status_code == 200
    assert hook.sent() == ["echo: where is my card?"]


async def test_an_update_during_a_database_outage_is_a_503_and_answered_when_redelivered(
    hook: Tg,
):
    async with sqlite_outage(hook.store.db):
        response = await hook.post(update("text"))
        assert response.status_code == 503
        assert "deliver the update again" in response.json()["error"]
        assert response.headers["retry-after"]
        assert hook.sent() == []
    # Telegram delivers it again once the database is back: answered once
    assert (await hook.post(update("text"))).status_code == 200
    assert hook.sent() == ["echo: where is my card?"]


async def test_redelivered_update_is_answered_once(hook: Tg):
    for _ in range(2):
        assert (await hook.post(update("text"))).status_code == 200
    assert hook.sent() == ["echo: where is my card?"]
    assert len(hook.rasa.received) == 1
    assert await hook.transcript() == [
        ("customer", "where is my card?"),
        ("bot", "echo: where is my card?"),
    ]


async def test_knowledge_base_bold_is_rendered_and_nothing_else(hook: Tg):
    await hook.channel.send(
        str(CHAT),
        [OutgoingMessage("**Reset your password**\n\nGo to <Settings> & click **Reset**")],
    )
    [sent] = hook.api.called("sendMessage")
    assert sent["parse_mode"] == "HTML"
    assert sent["text"] == (
        "<b>Reset your password</b>\n\nGo to &lt;Settings&gt; &amp; click <b>Reset</b>"
    )


async def test_start_command_becomes_a_greeting(hook: Tg):
    await hook.post(update("start"))
    assert [r["message"] for r in hook.rasa.received] == ["hi"]
    assert hook.sent() == ["echo: hi"]


@pytest.mark.parametrize(
    ("name", "stored"), [("photo", "[photo] the error on my screen"), ("sticker", "[sticker]")]
)
async def test_non_text_message_is_stored_and_gets_a_text_only_reply(
    hook: Tg, name: str, stored: str
):
    for _ in range(2):  # a redelivery is not answered again
        assert (await hook.post(update(name))).status_code == 200
    assert hook.sent() == [TEXT_ONLY]
    assert hook.rasa.received == []
    assert await hook.transcript() == [("customer", stored), ("system", TEXT_ONLY)]


async def test_a_photo_sent_while_a_person_has_the_conversation_goes_to_the_agent(hook: Tg):
    await hook.post(update("text", message={**update("text")["message"], "text": "handoff please"}))
    conversation = await hook.store.conversation(KEY)
    assert conversation and conversation.state == "queued"
    sent_before = hook.sent()
    assert (await hook.post(update("photo"))).status_code == 200
    assert hook.sent() == sent_before  # no "text only" reply: a person will look at it
    last = (await hook.store.transcript(KEY))[-1]
    assert (last.sender, last.text, last.status) == (
        "customer",
        "[photo] the error on my screen",
        "to_agent",
    )


async def test_edited_message_is_ignored(hook: Tg):
    await hook.post(update("text"))
    assert (await hook.post(update("edited"))).status_code == 200
    assert hook.sent() == ["echo: where is my card?"]
    assert len(await hook.transcript()) == 2


async def _press(tg: Tg, data: str, message: dict[str, Any], update_id: int) -> None:
    press = update("callback_query", update_id=update_id)
    press["callback_query"] = {**press["callback_query"], "data": data, "message": message}
    assert (await tg.post(press)).status_code == 200


async def test_buttons_are_an_inline_keyboard_and_a_press_is_routed_once(hook: Tg):
    long_payload = '/inform{"card_id": "' + "c" * 80 + '", "reason": "lost"}'
    await hook.post(update("text"))  # the conversation exists, as when Rasa sends buttons
    conversation = await hook.store.conversation(KEY)
    assert conversation is not None
    question = OutgoingMessage(
        "Did that help?",
        buttons=[
            Button("Talk to a person", "/request_human"),
            Button("Block my card", long_payload),
        ],
    )
    await hook.store.store_outgoing(conversation.id, [question])
    await hook.channel.send(str(CHAT), [question])
    sent = hook.api.called("sendMessage")[-1]
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in keyboard for b in row] == ["Talk to a person", "Block my card"]
    short, long_key = (row[0]["callback_data"] for row in keyboard)
    assert short == "/request_human"
    assert len(long_key.encode()) <= 64

    message = {
        "message_id": 2002,
        "from": {"id": 777000111, "is_bot": True, "first_name": "Support"},
        "chat": {"id": CHAT, "type": "private"},
        "date": 1763860040,
        "text": "Did that help?",
        "reply_markup": sent["reply_markup"],
    }
    await _press(hook, long_key, message, 900)
    await _press(hook, short, message, 901)  # pressed again before the keyboard vanished
    assert [r["message"] for r in hook.rasa.received][-1] == long_payload
    assert len(hook.rasa.received) == 2  # the text message and one press
    assert [c["callback_query_id"] for c in hook.api.called("answerCallbackQuery")] == 2 * [
        "4382bfdwdsb323b2d9"
    ]
    assert hook.api.called("editMessageReplyMarkup")[0] == {
        "chat_id": str(CHAT),
        "message_id": str(message["message_id"]),
    }
    assert hook.sent()[-1] == f"echo: {long_payload}"


async def test_recorded_button_press_is_routed_as_the_payload(hook: Tg):
    await hook.post(update("callback_query"))
    assert [r["message"] for r in hook.rasa.received] == ["/request_human"]
    assert hook.sent() == ["echo: /request_human"]
    assert await hook.transcript() == [
        ("customer", "/request_human"),
        ("bot", "echo: /request_human"),
    ]


async def test_unknown_long_key_falls_back_to_the_button_title(hook: Tg):
    recorded = update("callback_query")["callback_query"]["message"]
    message = copy.deepcopy(recorded)
    message["reply_markup"]["inline_keyboard"][1][0]["callback_data"] = "#unknownkey"
    await _press(hook, "#unknownkey", message, 902)
    assert [r["message"] for r in hook.rasa.received] == ["Talk to a person"]


async def test_polling_delivers_answers_and_moves_the_offset(polling: Tg):
    await polling.api.wait_for("getUpdates")
    assert polling.api.called("deleteWebhook")
    polling.api.queue(update("text"))
    await polling.api.wait_for("sendMessage")
    assert polling.sent() == ["echo: where is my card?"]
    calls = len(polling.api.called("getUpdates"))
    await polling.api.wait_for("getUpdates", calls + 1)
    assert polling.api.called("getUpdates")[-1]["offset"] == str(815570001 + 1)
    assert polling.sent() == ["echo: where is my card?"]  # not answered twice


async def test_polling_survives_api_errors(polling: Tg, caplog: pytest.LogCaptureFixture):
    await polling.api.wait_for("getUpdates")
    polling.api.fail("getUpdates", 502)
    polling.api.fail("getUpdates", 500)
    with caplog.at_level(logging.WARNING, "channels.telegram"):
        calls = len(polling.api.called("getUpdates"))
        await polling.api.wait_for("getUpdates", calls + 3)  # two failures, then polling again
        polling.api.queue(update("start"))
        await polling.api.wait_for("sendMessage")
    assert polling.sent() == ["echo: hi"]
    assert sum("getUpdates failed" in r.getMessage() for r in caplog.records) == 2


async def test_send_delivers_a_late_agent_message_split_at_telegrams_limit(hook: Tg):
    long = "x" * 5000
    await hook.channel.send(
        str(CHAT), [OutgoingMessage("Hi, Sam here", sender="agent"), OutgoingMessage(long)]
    )
    assert hook.sent() == ["Hi, Sam here", "x" * 4096, "x" * 904]


async def test_send_logs_telegram_errors_instead_of_raising(
    hook: Tg, caplog: pytest.LogCaptureFixture
):
    hook.api.blocked.add(CHAT)
    with caplog.at_level(logging.WARNING, "channels.telegram"):
        await hook.channel.send(str(CHAT), [OutgoingMessage("one"), OutgoingMessage("two")])
    assert len(hook.api.called("sendMessage")) == 1  # stopped after the first refusal
    assert "blocked" in caplog.text
    hook.api.blocked.clear()
    hook.api.fail("sendMessage", 429, retry_after=1)
    await hook.channel.send(str(CHAT), [OutgoingMessage("after the flood")])
    assert hook.sent()[-2:] == ["after the flood", "after the flood"]  # refused, then retried


def test_registered_and_enabled_only_with_a_token(settings: Settings):
    assert CHANNELS["telegram"] is TelegramChannel
    assert not TelegramChannel.enabled(settings)
    assert TelegramChannel.enabled(settings.with_(telegram_token="1:x"))


@pytest.mark.parametrize(
    ("secret", "error"), [("", "SECRET is empty"), ("has space", "letters, digits")]
)
def test_webhook_mode_needs_a_valid_secret(settings: Settings, secret: str, error: str):
    bad = settings.with_(
        telegram_token="1:x",
        telegram_webhook_url="https://x.example/hook",
        telegram_webhook_secret=secret,
    )
    with pytest.raises(TelegramConfigError, match=error):
        TelegramChannel(None, bad)  # type: ignore[arg-type]


async def test_with_two_hubs_only_the_leaseholder_long_polls_and_the_other_takes_over(
    sqlite_store: Store, settings: Settings
):
    """Telegram serves one getUpdates per bot at a time: of two hubs, the one holding the
    lease polls; when it stops, the other takes over and answers what comes next, once."""
    rasa_fake, api = FakeRasa(), FakeTelegram()
    space = uuid.uuid4().hex
    async with serve(rasa_fake.app()) as rasa_url, serve(api.app()) as api_url:
        rasa = RasaClient(rasa_url)
        polled = settings.with_(telegram_token=api.token, telegram_api_url=f"{api_url}/bot")
        leaders = [
            RedisLeader(redis_client(REDIS_URL), "background", 3.0, f"hub{n}", space)
            for n in (1, 2)
        ]
        channels = []
        for leader in leaders:
            await leader.start()
            router = Router(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
            channel = TelegramChannel(router, polled, leader=leader)
            channel.poll_timeout, channel.backoff_base = 1, 0.05
            await channel.start()
            channels.append(channel)
        try:
            assert leaders[0].is_leader and not leaders[1].is_leader
            await api.wait_for("getUpdates", 3)
            assert len(api.called("deleteWebhook")) == 1  # one hub polls
            await channels[0].stop()
            await leaders[0].stop()  # hands the lease over
            await api.wait_for("deleteWebhook", 2)  # the other hub starts polling
            assert leaders[1].is_leader
            api.queue(update("text"))
            await api.wait_for("sendMessage")
            await asyncio.sleep(0.5)
            sent = [c["text"] for c in api.called("sendMessage")]
            assert sent == ["echo: where is my card?"]
        finally:
            for channel in channels[1:]:
                await channel.stop()
            await leaders[1].stop()
            await rasa.close()
