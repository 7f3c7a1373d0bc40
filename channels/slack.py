"""The Slack channel: customers write to the bot in a DM or mention it in a channel.

Requests reach `POST /slack/events` (Events API and interactivity) and go through slack-bolt's
middleware chain: signature and timestamp check, url_verification, the bot's own events
dropped. Slack gets its HTTP answer only after the listener has run
(`process_before_response=True`): the message is stored before Slack is told it arrived, so a
crash can never lose a message Slack will not send again. When Rasa is slower than Slack's 3 s,
Slack retries; the retries are answered once because `Router.handle` stores each message
idempotently on its `client_msg_id` (or ts).

Conversations: a DM is one conversation (chat id = the DM channel id); a mention in a channel
starts one conversation per thread (chat id = "<channel>:<thread ts>"), answered in that
thread, and later messages in a thread the bot is part of continue it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_http
from bot.conversation.router import InvalidMessage
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.settings import Settings
from bot.storage.db import StorageUnavailable
from channels.base import Channel
from channels.slack_format import ACTIONS_BLOCK, chosen, customer_text, render

log = logging.getLogger(__name__)
SLACK_ERRORS = (SlackApiError, SlackClientError, OSError, TimeoutError)
CLICKS_REMEMBERED = 10_000


def chat_id_for(channel: str, thread_ts: str | None) -> str:
    return f"{channel}:{thread_ts}" if thread_ts else channel


def split_chat_id(chat_id: str) -> tuple[str, str | None]:
    channel, _, thread_ts = chat_id.partition(":")
    return channel, thread_ts or None


class SlackChannel(Channel):
    name = "slack"

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        return bool(settings.slack_bot_token and settings.slack_signing_secret)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = AsyncWebClient(
            token=self.settings.slack_bot_token, base_url=self.settings.slack_api_url
        )
        # Slack answers 429 + Retry-After above ~1 message per second per channel: wait, retry
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        # The token is checked with auth.test on the first request (async bolt never calls
        # the network at construction).
        self.app = AsyncApp(
            client=self.client,
            signing_secret=self.settings.slack_signing_secret,
            process_before_response=True,
            logger=logging.getLogger("channels.slack.bolt"),
        )
        self.app.event("message")(self._on_message)
        self.app.event("app_mention")(self._on_mention)
        self.app.block_action({"block_id": ACTIONS_BLOCK})(self._on_click)
        self.app.error(self._on_error)
        self.signing_secret = self.settings.slack_signing_secret
        self._names: dict[str, tuple[str | None, str | None]] = {}  # user -> (name, lang)
        self._clicked: dict[str, None] = {}  # message ts already answered by a click

    # -- requests -------------------------------------------------------------------------

    def routes(self) -> APIRouter:
        api = APIRouter()

        @api.post("/slack/events", tags=["slack"], include_in_schema=False)
        async def events(request: Request) -> Response:
            """Slack's Events API and interactivity (signed by Slack)."""
            bolt_request = await slack_http.bolt_request(request, self.signing_secret)
            if isinstance(bolt_request, Response):
                return bolt_request
            return slack_http.http_response(await self.app.async_dispatch(bolt_request))

        return api

    async def _on_error(self, error: Exception) -> BoltResponse | None:
        """A listener failed: a database outage is a 503, so Slack delivers the event again."""
        if isinstance(error, StorageUnavailable):
            log.warning("Slack event refused, the database is unavailable: %s", error)
            return BoltResponse(
                status=503,
                body='{"error": "the database is unavailable; deliver the event again later"}',
                headers={"Content-Type": "application/json", "Retry-After": "5"},
            )
        log.error("Slack listener failed", exc_info=error)
        return None  # bolt's 500

    async def _on_message(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, deletions, joins, bots (ourselves included)
        channel = str(event.get("channel", ""))
        if event.get("channel_type") == "im":
            await self._incoming(event, channel, event.get("thread_ts"), context)
            return
        thread_ts = event.get("thread_ts")
        bot = context.bot_user_id
        if not thread_ts or (bot and f"<@{bot}" in str(event.get("text", ""))):
            return  # only threads the bot is part of; mentions come as app_mention
        chat_id = chat_id_for(channel, str(thread_ts))
        if await self.router.store.conversation(f"{self.name}:{chat_id}") is not None:
            await self._incoming(event, chat_id, str(thread_ts), context)

    async def _on_mention(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        thread_ts = str(event.get("thread_ts") or event.get("ts") or "")
        channel = str(event.get("channel", ""))
        if not channel or not thread_ts:
            return
        await self._incoming(event, chat_id_for(channel, thread_ts), thread_ts, context)

    async def _incoming(
        self, event: dict[str, Any], chat_id: str, thread_ts: str | None, ctx: AsyncBoltContext
    ) -> None:
        text = customer_text(str(event.get("text") or ""), ctx.bot_user_id)
        if not chat_id or not text:
            return
        user = str(event["user"])
        name, language = await self._profile(user)
        message_id = event.get("client_msg_id") or event.get("ts")
        await self._route(
            IncomingMessage(
                channel=self.name,
                chat_id=chat_id,
                text=text,
                customer=Customer(external_id=user, display_name=name, language=language),
                vendor_message_id=str(message_id) if message_id else None,
                language=language,
            ),
            thread_ts,
        )

    async def _on_click(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        original = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        message_ts = str(container.get("message_ts") or original.get("ts") or "")
        user = str((body.get("user") or {}).get("id") or "")
        payload = str(action.get("value") or "")
        title = str((action.get("text") or {}).get("text") or payload)
        if not (channel and message_ts and user and payload):
            log.warning("Slack button click without channel, message, user or value")
            return
        if message_ts in self._clicked:
            return  # a second click before the buttons disappeared: the first one counts
        self._clicked[message_ts] = None
        if len(self._clicked) > CLICKS_REMEMBERED:
            del self._clicked[next(iter(self._clicked))]
        thread_ts = original.get("thread_ts") or container.get("thread_ts")
        in_thread = bool(thread_ts) and not channel.startswith("D")
        try:
            await self.client.chat_update(
                channel=channel,
                ts=message_ts,
                text=str(original.get("text") or title),
                blocks=chosen(original.get("blocks") or [], user, title),
            )
        except SLACK_ERRORS as exc:
            log.error("Slack chat.update failed for %s: %s", channel, exc)
        name, language = await self._profile(user)
        await self._route(
            IncomingMessage(
                channel=self.name,
                chat_id=chat_id_for(channel, str(thread_ts)) if in_thread else channel,
                text=payload,
                customer=Customer(external_id=user, display_name=name, language=language),
                vendor_message_id=f"click:{message_ts}",  # one choice per message
                language=language,
            ),
            str(thread_ts) if thread_ts else None,
        )

    async def _route(self, msg: IncomingMessage, thread_ts: str | None) -> None:
        try:
            replies = await self.router.handle(msg)
        except InvalidMessage as exc:
            log.info("Slack message not processed (%s): %s", msg.conversation_key, exc)
            return
        channel, _ = split_chat_id(msg.chat_id)
        await self._post(channel, thread_ts, replies)

    async def _profile(self, user: str) -> tuple[str | None, str | None]:
        """The user's real name and language (from their Slack locale), cached."""
        if user not in self._names:
            try:
                info = (await self.client.users_info(user=user, include_locale=True))["user"]
            except SLACK_ERRORS as exc:
                log.warning("Slack users.info failed for %s: %s", user, exc)
                return None, None
            profile = info.get("profile") or {}
            name = info.get("real_name") or profile.get("real_name") or info.get("name")
            locale = str(info.get("locale") or "")
            self._names[user] = (name or None, locale.split("-")[0].lower() or None)
        return self._names[user]

    # -- replies --------------------------------------------------------------------------

    async def _post(
        self, channel: str, thread_ts: str | None, messages: list[OutgoingMessage]
    ) -> None:
        for message in messages:
            content = render(message)
            if content is None:
                continue
            if thread_ts:
                content["thread_ts"] = thread_ts
            try:
                await self.client.chat_postMessage(channel=channel, **content)
            except SLACK_ERRORS as exc:
                log.error("Slack chat.postMessage to %s failed: %s", channel, exc)

    async def send(self, chat_id: str, messages: list[OutgoingMessage]) -> None:
        channel, thread_ts = split_chat_id(chat_id)
        await self._post(channel, thread_ts, messages)
