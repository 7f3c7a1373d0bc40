"""The Slack channel: signed requests to the real bolt app over HTTP, slack-sdk's AsyncWebClient
against a local fake Web API, the real router and store, a fake Rasa that echoes."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.messages import Button, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.models import Customer
from bot.storage.repo import Store
from channels.registry import CHANNELS
from channels.slack import SlackChannel
from channels.slack_format import customer_text, escape, render
from tests.fake_rasa import FakeRasa
from tests.fake_slack import FakeSlack, signed
from tests.support import serve, slack_signed, sqlite_outage

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
PAYLOADS = Path(__file__).parent / "slack_payloads"
DM = "D0CUSTOMER"
CUSTOMER = "U0CUSTOMER"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def dm(text: str, ts: str, **event: Any) -> dict[str, Any]:
    body = payload("message_im")
    body["event"].update(text=text, ts=ts, event_ts=ts, client_msg_id=f"msg-{ts}", **event)
    body["event_id"] = f"Ev{ts}"
    return body


@dataclass
class Site:
    http: httpx.AsyncClient
    channel: SlackChannel
    store: Store
    rasa: FakeRasa
    slack: FakeSlack

    async def post(
        self, body: dict[str, Any] | bytes | str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        raw = raw.encode() if isinstance(raw, str) else raw
        ctype = "application/json" if raw.startswith(b"{") else "application/x-www-form-urlencoded"
        all_headers = {"Content-Type": ctype, **signed(raw, SECRET), **(headers or {})}
        return await self.http.post("/slack/events", content=raw, headers=all_headers)

    async def click(self, posted: dict[str, Any], index: int) -> httpx.Response:
        """Click button `index` of a message the bot posted, as Slack sends it (form body)."""
        raw = (PAYLOADS / "block_actions.json").read_text()
        body = json.loads(raw)
        message_ts = self.posted_ts(posted)
        body["container"]["message_ts"] = body["message"]["ts"] = message_ts
        body["container"]["channel_id"] = body["channel"]["id"] = posted["channel"]
        if posted.get("thread_ts"):
            body["container"]["thread_ts"] = body["message"]["thread_ts"] = posted["thread_ts"]
        body["message"]["text"] = posted["text"]
        body["message"]["blocks"] = posted["blocks"]
        button = posted["blocks"][-1]["elements"][index]
        body["actions"] = [
            {
                **body["actions"][0],
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button["value"],
            }
        ]
        form = httpx.QueryParams({"payload": json.dumps(body)})
        return await self.post(str(form))

    def posted_ts(self, posted: dict[str, Any]) -> str:
        for (channel, ts), message in self.slack.messages.items():
            if channel == posted["channel"] and message["text"] == posted["text"]:
                return ts
        raise AssertionError("not posted")

    def posts(self) -> list[dict[str, Any]]:
        return self.slack.called("chat.postMessage")

    async def wait_for(self, what: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := what()):
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)
        return found

    async def wait_post(self, text: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.wait_for(
            lambda: next((p for p in self.posts() if p["text"] == text), None)
        )
        return found

    async def transcript(self, chat_id: str) -> list[tuple[str, str]]:
        return [(m.sender, m.text) for m in await self.store.transcript(f"slack:{chat_id}")]


@pytest.fixture
async def site(sqlite_store: Store, settings: Settings) -> AsyncIterator[Site]:
    rasa_fake = FakeRasa()
    slack = FakeSlack(token=TOKEN, users={CUSTOMER: "Ana Horvat", "U0OTHER": "Ivo Ivić"})
    async with serve(rasa_fake.app()) as rasa_url, serve(slack.app()) as slack_url:
        rasa = RasaClient(rasa_url)
        router = Router(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
        config = settings.with_(
            slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=f"{slack_url}/api/"
        )
        channel = SlackChannel(router, config)
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
            yield Site(http, channel, sqlite_store, rasa_fake, slack)
        await rasa.close()


def test_registered_and_enabled_only_with_token_and_secret(settings: Settings):
    assert CHANNELS["slack"] is SlackChannel
    assert not SlackChannel.enabled(settings.with_(slack_bot_token="", slack_signing_secret="s"))
    assert not SlackChannel.enabled(settings.with_(slack_bot_token="x", slack_signing_secret=""))
    assert SlackChannel.enabled(settings.with_(slack_bot_token="x", slack_signing_secret="s"))


async def test_direct_message_is_answered_and_stored(site: Site):
    response = await site.post(payload("message_im"))
    assert response.status_code == 200
    post = await site.wait_post("echo: hello &amp; good morning")
    assert post["channel"] == DM and "thread_ts" not in post
    assert post["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "echo: hello &amp; good morning"}}
    ]
    assert await site.transcript(DM) == [
        ("customer", "hello & good morning"),
        ("bot", "echo: hello & good morning"),
    ]
    async with site.store.db.session() as s:
        customer = (await s.execute(select(Customer))).scalar_one()
    assert (customer.external_id, customer.display_name) == (CUSTOMER, "Ana Horvat")
    # the name is looked up once per user
    await site.post(dm("again", "1700000000.000300"))
    await site.wait_post("echo: again")
    assert len(site.slack.called("users.info")) == 1


async def test_a_message_is_stored_before_slack_is_told_it_arrived(site: Site):
    # Slack never re-sends an event it got a 200 for: by then the message must be in the store,
    # even while Rasa is still thinking
    site.rasa.delay = 1.0
    response = await site.post(dm("where is my parcel?", "1700000000.000900"))
    assert response.status_code == 200
    assert ("customer", "where is my parcel?") in await site.transcript(DM)


async def test_forged_signature_is_rejected_and_nothing_stored(site: Site):
    raw = json.dumps(payload("message_im")).encode()
    headers = {"Content-Type": "application/json", **signed(raw, "not-the-secret")}
    response = await site.http.post("/slack/events", content=raw, headers=headers)
    assert response.status_code == 401
    unsigned = await site.http.post("/slack/events", content=raw)
    assert unsigned.status_code == 401
    await asyncio.sleep(0.2)
    assert await site.store.conversation(f"slack:{DM}") is None
    assert site.rasa.received == [] and site.posts() == []


async def test_stale_timestamp_is_rejected(site: Site):
    raw = json.dumps(payload("message_im")).encode()
    old = int(time.time()) - 10 * 60
    headers = {"Content-Type": "application/json", **signed(raw, SECRET, timestamp=old)}
    response = await site.http.post("/slack/events", content=raw, headers=headers)
    assert response.status_code == 401
    await asyncio.sleep(0.2)
    assert await site.store.conversation(f"slack:{DM}") is None


async def test_url_verification_challenge_is_answered(site: Site):
    body = {
        "token": "XXYYZZ",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9",
        "type": "url_verification",
    }
    response = await site.post(body)
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9"}


@pytest.mark.parametrize(
    "raw",
    ["{not json", "[1, 2]", "payload=%7Bbroken", '"just a string"'],
)
async def test_malformed_bodies_get_4xx(site: Site, raw: str):
    response = await site.post(raw)
    assert 400 <= response.status_code < 500


async def test_a_body_that_is_not_utf8_gets_4xx(site: Site):
    raw = b"\xff\xfe{"
    headers = {"Content-Type": "application/json", **slack_signed(raw, SECRET)}
    response = await site.http.post("/slack/events", content=raw, headers=headers)
    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["error"]


BROKEN = [
    (b'{"type": "event_callback", "event": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested"),
    (b'{"type": "event_callback", "event": {"text": "\\ud800"}}', "unpaired surrogate"),
    (b'{"type": "event_callback", "event": {"text": "a\\u0000"}}', "NUL"),
    (b"payload=" + b"%5B" * 5000, "nested more than"),
    (b"payload=%7Bbroken", "not valid JSON"),
    (b"payload=%7B%22user%22%3A%22%5Cud800%22%7D", "unpaired surrogate"),
    (b"payload=%22just+a+string%22", "must be a JSON object"),
    (b"ssl_check=1&token=%00", "NUL"),
]


@pytest.mark.parametrize(("raw", "reason"), BROKEN, ids=[reason for _, reason in BROKEN])
async def test_a_signed_but_broken_body_is_a_400_with_the_reason(
    site: Site, raw: bytes, reason: str
):
    ctype = "application/json" if raw.startswith(b"{") else "application/x-www-form-urlencoded"
    headers = {"Content-Type": ctype, **slack_signed(raw, SECRET)}
    response = await site.http.post("/slack/events", content=raw, headers=headers)
    assert response.status_code == 400
    assert reason in response.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "\u0661\u0662", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "99999999999999999999", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=\xe9"},
    ],
    ids=["unsigned", "timestamp text", "arabic digits", "huge timestamp", "latin-1 signature"],
)
async def test_an_unsigned_or_badly_signed_malformed_body_is_a_401(
    site: Site, headers: dict[str, str]
):
    for raw in [b"{not json", b"\xff\xfe", b"payload=%7Bbroken", b"[" * 5000]:
        encoded = {k: v.encode("utf-8") for k, v in headers.items()}
        response = await site.http.post("/slack/events", content=raw, headers=encoded)
        assert response.status_code == 401, raw[:20]
        assert "Slack signature" in response.json()["error"]


async def test_a_database_outage_is_a_503_and_the_redelivered_event_is_answered(site: Site):
    event = dm("are you there?", "1700000000.000777")
    async with sqlite_outage(site.store.db):
        response = await site.post(event)
        assert response.status_code == 503
        assert "deliver the event again" in response.json()["error"]
        assert response.headers["retry-after"]
    assert site.posts() == []
    # Slack retries the event once the database is back: answered once
    retried = await site.post(
        event, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    )
    assert retried.status_code == 200
    await site.wait_post("echo: are you there?")
    assert len(site.posts()) == 1


async def test_incomplete_events_are_acked_and_ignored(site: Site):
    for event in [{}, {"type": "message"}, {"type": "message", "user": CUSTOMER, "text": "x"}]:
        body = {"type": "event_callback", "team_id": "T0001", "event": event}
        assert (await site.post(body)).status_code in (200, 404)
    await site.post(dm("real one", "1700000000.000900"))
    await site.wait_post("echo: real one")
    assert [r["message"] for r in site.rasa.received] == ["real one"]


async def test_a_retried_event_is_answered_once(site: Site):
    body = payload("message_im")
    assert (await site.post(body)).status_code == 200
    await site.wait_post("echo: hello &amp; good morning")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await site.post(body, retry)).status_code == 200
    await site.post(dm("next", "1700000000.000500"))
    await site.wait_post("echo: next")
    assert [p["text"] for p in site.posts()] == ["echo: hello &amp; good morning", "echo: next"]
    assert [r["message"] for r in site.rasa.received] == ["hello & good morning", "next"]


async def test_bots_edits_and_deletions_are_ignored(site: Site):
    own = dm("echo: hi", "1700000000.000601", user="UBOT")
    other_bot = dm("beep", "1700000000.000602", subtype="bot_message", bot_id="B0OTHER")
    edited = payload("message_im")
    edited["event"] = {
        "type": "message",
        "subtype": "message_changed",
        "channel": DM,
        "channel_type": "im",
        "ts": "1700000000.000603",
        "message": {"type": "message", "user": CUSTOMER, "text": "edited", "ts": "1"},
    }
    deleted = dm("", "1700000000.000604", subtype="message_deleted")
    for body in (own, other_bot, edited, deleted):
        assert (await site.post(body)).status_code == 200
    await site.post(dm("real", "1700000000.000700"))
    await site.wait_post("echo: real")
    assert [r["message"] for r in site.rasa.received] == ["real"]
    assert await site.transcript(DM) == [("customer", "real"), ("bot", "echo: real")]


async def test_mention_is_answered_in_its_thread_one_conversation_per_thread(site: Site):
    first = payload("app_mention")
    await site.post(first)
    post = await site.wait_post("echo: where is my order?")
    assert post["channel"] == "C0COMMUNITY" and post["thread_ts"] == "1700000100.000200"
    thread = "C0COMMUNITY:1700000100.000200"
    assert await site.transcript(thread) == [
        ("customer", "where is my order?"),
        ("bot", "echo: where is my order?"),
    ]
    # a reply in the thread, without mentioning the bot, continues that conversation
    reply = payload("app_mention")
    reply["event"] = {
        **first["event"],
        "type": "message",
        "channel_type": "channel",
        "text": "order 1234",
        "ts": "1700000150.000100",
        "thread_ts": "1700000100.000200",
        "client_msg_id": "c0ffee00-0000-4000-8000-000000000001",
    }
    await site.post(reply)
    post = await site.wait_post("echo: order 1234")
    assert post["thread_ts"] == "1700000100.000200"
    assert [t for _, t in await site.transcript(thread)][-2:] == ["order 1234", "echo: order 1234"]
    # another mention in the channel starts its own conversation, in its own thread
    other = payload("app_mention")
    other["event"].update(
        user="U0OTHER", ts="1700000200.000300", client_msg_id="x-2", text="<@UBOT> hi there"
    )
    await site.post(other)
    post = await site.wait_post("echo: hi there")
    assert post["thread_ts"] == "1700000200.000300"
    assert await site.transcript("C0COMMUNITY:1700000200.000300") == [
        ("customer", "hi there"),
        ("bot", "echo: hi there"),
    ]
    assert len(await site.transcript(thread)) == 4
    # channel messages outside any bot thread are not the bot's business
    chatter = copy.deepcopy(reply)
    chatter["event"].update(thread_ts="1699999999.000001", text="lunch?", client_msg_id="x-3")
    await site.post(chatter)
    await asyncio.sleep(0.3)
    assert "lunch?" not in [r["message"] for r in site.rasa.received]


async def test_special_mentions_and_links_in_replies_are_escaped(site: Site):
    # the customer typed a literal "<!channel>"; Slack delivers it entity-encoded
    await site.post(dm("&lt;!channel&gt; and &lt;https://evil.example|click&gt;", "1700000000.1"))
    post = await site.wait_post("echo: &lt;!channel&gt; and &lt;https://evil.example|click&gt;")
    shown = post["blocks"][0]["text"]["text"]
    assert "<" not in shown and ">" not in shown and "<" not in post["text"]
    assert (await site.transcript(DM))[0] == (
        "customer",
        "<!channel> and <https://evil.example|click>",
    )


async def test_buttons_rendered_and_a_click_is_routed_and_the_message_updated(site: Site):
    buttons = [
        Button("Track my order", "/track"),
        Button("Returns", '/choose{"article": "returns"}'),
    ]
    await site.channel.send(DM, [OutgoingMessage("Which one?", buttons)])
    posted = await site.wait_post("Which one?")
    actions = posted["blocks"][-1]
    assert actions["type"] == "actions"
    assert [(e["text"]["text"], e["value"]) for e in actions["elements"]] == [
        ("Track my order", "/track"),
        ("Returns", '/choose{"article": "returns"}'),
    ]
    response = await site.click(posted, 1)
    assert response.status_code == 200
    update = (await site.wait_for(lambda: site.slack.called("chat.update")))[0]
    assert update["channel"] == DM and update["ts"] == site.posted_ts(posted)
    assert [b["type"] for b in update["blocks"]] == ["section", "context"]
    assert "Returns" in update["blocks"][-1]["elements"][0]["text"]
    await site.wait_post('echo: /choose{"article": "returns"}')
    assert (await site.transcript(DM))[-2:] == [
        ("customer", '/choose{"article": "returns"}'),
        ("bot", 'echo: /choose{"article": "returns"}'),
    ]
    # a second click on the same message (before the update showed) is not a second answer
    await site.click(posted, 0)
    await site.post(dm("after", "1700000000.2"))
    await site.wait_post("echo: after")
    assert "/track" not in [r["message"] for r in site.rasa.received]
    assert len(site.slack.called("chat.update")) == 1  # still shows the first choice


def test_button_limits():
    long = Button("x" * 200, "p" * 3000)
    content = render(OutgoingMessage("", [long]))
    assert content is not None
    element = content["blocks"][0]["elements"][0]
    assert len(element["text"]["text"]) == 75 and len(element["value"]) == 2000
    assert render(OutgoingMessage("")) is None
    body = render(OutgoingMessage("**Reset your password**\n\n" + "a" * 7000))
    assert body is not None
    assert body["blocks"][0]["text"]["text"].startswith("*Reset your password*")
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"])


def test_customer_text_from_slack_markup():
    assert customer_text("<@UBOT> hi <@U2> see <https://a.example|this> &amp; that", "UBOT") == (
        "hi @U2 see this & that"
    )


async def test_send_posts_late_agent_replies_in_dm_and_thread(site: Site):
    await site.channel.send(DM, [OutgoingMessage("Hi, Maria here.", sender="agent")])
    await site.channel.send(
        "C0COMMUNITY:1700000100.000200", [OutgoingMessage("Your order ships today.")]
    )
    dm_post, thread_post = site.posts()
    assert dm_post["channel"] == DM and "thread_ts" not in dm_post
    assert dm_post["text"] == "Hi, Maria here."
    assert thread_post["channel"] == "C0COMMUNITY"
    assert thread_post["thread_ts"] == "1700000100.000200"


async def test_slack_api_errors_are_logged_not_raised(site: Site, caplog: pytest.LogCaptureFixture):
    site.slack.errors["chat.postMessage"] = "channel_not_found"
    with caplog.at_level(logging.ERROR, logger="channels.slack"):
        await site.channel.send("D0GONE", [OutgoingMessage("hello?")])
    assert "channel_not_found" in caplog.text
    # and the customer's message is still stored when the reply cannot be posted
    await site.post(dm("anyone?", "1700000000.3"))
    await site.wait_for(lambda: len(site.posts()) == 2)
    await site.wait_for(lambda: len(site.rasa.received) == 1)
    assert (await site.transcript(DM))[0] == ("customer", "anyone?")


async def test_rate_limited_posts_are_retried(site: Site):
    site.slack.rate_limited["chat.postMessage"] = 1
    await site.channel.send(DM, [OutgoingMessage("after a pause")])
    assert [p["text"] for p in site.posts()] == ["after a pause", "after a pause"]
    assert site.slack.messages and site.slack.rate_limited["chat.postMessage"] == 0


async def test_handoff_request_reaches_the_customer(site: Site):
    await site.post(dm("handoff please", "1700000000.4"))
    post = (await site.wait_for(lambda: site.posts()))[0]
    conversation = await site.store.conversation(f"slack:{DM}")
    assert conversation is not None and conversation.state == "queued"
    sender, told = (await site.transcript(DM))[-1]
    assert sender == "system" and post["text"] == escape(told) and told
