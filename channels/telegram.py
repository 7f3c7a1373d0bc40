"""The Telegram channel: updates by webhook or long polling (with several hubs, only the hub
holding the lease polls: bot/cluster/lease.py), replies through the Bot API.

Customers' texts and pressed buttons go to the router as neutral messages; replies are sent
as escaped HTML (the knowledge base's bold kept, nobody's markup injected; see
`telegram_render`) with buttons as inline keyboards.
`/start` becomes a greeting; photos, stickers, voice... are stored and get a polite text-only
reply in the customer's language (while a person has the conversation they go to the agent, as
"[photo] caption"); edited messages are ignored (the original was already answered).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import warnings
from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import Bot, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.conversation.router import InvalidMessage
from bot.language import base
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.safe_json import loads_object
from bot.settings import Settings
from bot.storage.db import StorageUnavailable
from channels.base import Channel
from channels.telegram_render import find_payload, is_key, render
from channels.telegram_update import check_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token
UPDATES = ["message", "edited_message", "callback_query"]
START = re.compile(r"^/start(@\w+)?(\s.*)?$", re.DOTALL)
GREETING = "hi"
ATTACHMENTS = (  # what a non-text message holds, in the words the transcript shows
    "photo", "sticker", "voice", "video", "video_note", "animation", "audio", "document",
    "location", "venue", "contact", "poll", "dice",
)  # fmt: skip


class TelegramConfigError(ValueError):
    pass


def _display_name(user: User | None) -> str | None:
    if user is None:
        return None
    return f"{user.full_name} (@{user.username})" if user.username else user.full_name


def _attachment(message: Message) -> str | None:
    return next((a.replace("_", " ") for a in ATTACHMENTS if getattr(message, a, None)), None)


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta migration of PTB 22
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(Channel):
    name = "telegram"
    poll_timeout = 30  # seconds a getUpdates long poll waits for updates
    backoff_base = 1.0  # seconds before retrying a failed API call; doubles up to backoff_max
    backoff_max = 60.0
    max_attempts = 3  # handling one polled update, before it is logged and skipped

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        return bool(settings.telegram_token)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self.webhook_url = s.telegram_webhook_url
        self.secret = s.telegram_webhook_secret
        if self.webhook_url and not self.secret:
            raise TelegramConfigError(
                "TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is empty: a webhook "
                "needs a secret so forged updates can be rejected"
            )
        if self.secret and not SECRET.match(self.secret):
            raise TelegramConfigError(
                "TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, '_' or '-'"
            )
        self._requests = (HTTPXRequest(), HTTPXRequest(connection_pool_size=1))
        self.bot = Bot(
            s.telegram_token,
            base_url=s.telegram_api_url,
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.bot.shutdown()
        for request in self._requests:
            await request.shutdown()

    def _backoff(self, failures: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** max(0, failures - 1))

    async def _until_done(self, what: str, call: Any) -> None:
        """Call the Bot API until it succeeds (Telegram may be unreachable at start)."""
        failures = 0
        while True:
            try:
                await call()
                return
            except TelegramError as exc:
                failures += 1
                delay = _seconds(exc) if isinstance(exc, RetryAfter) else self._backoff(failures)
                log.warning("telegram: %s failed (%s); retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)

    async def _run(self) -> None:
        await self._until_done("getMe", self.bot.initialize)
        if self.webhook_url:
            await self._until_done(
                "setWebhook",
                lambda: self.bot.set_webhook(
                    self.webhook_url, secret_token=self.secret, allowed_updates=UPDATES
                ),
            )
            log.info("telegram: receiving updates on %s", self.webhook_url)
            return
        # Telegram answers one getUpdates at a time per bot: with several hubs, the leader polls
        await self.leader.run(self._poll_as_leader)

    async def _poll_as_leader(self) -> None:
        await self._until_done("deleteWebhook", self.bot.delete_webhook)
        log.info("telegram: long polling for updates")
        await self._poll()

    async def _poll(self) -> None:
        offset: int | None = None
        failures = outages = 0
        attempts: dict[int, int] = {}
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=UPDATES
                )
                failures = 0
            except TelegramError as exc:
                failures += 1
                delay = _seconds(exc) if isinstance(exc, RetryAfter) else self._backoff(failures)
                log.warning("telegram: getUpdates failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            for update in updates:
                try:
                    await self.process(update)
                except StorageUnavailable:  # not the update's fault: wait, then the same one
                    outages += 1
                    delay = self._backoff(outages)
                    log.warning("telegram: database unavailable; retrying in %.1f s", delay)
                    await asyncio.sleep(delay)
                    break
                except Exception:
                    tries = attempts[update.update_id] = attempts.get(update.update_id, 0) + 1
                    if tries < self.max_attempts:
                        log.exception("telegram: update %s failed; retrying", update.update_id)
                        await asyncio.sleep(self._backoff(tries))
                        break  # poll again from this update
                    log.exception(
                        "telegram: update %s skipped after %d tries", update.update_id, tries
                    )
                outages = 0
                attempts.pop(update.update_id, None)
                offset = update.update_id + 1

    # -- incoming ----------------------------------------------------------------------------

    def routes(self) -> APIRouter:
        api = APIRouter()

        @api.post("/telegram/webhook", include_in_schema=False)
        async def webhook(request: Request) -> JSONResponse:
            if not self._secret_ok(request.headers.get(SECRET_HEADER)):
                return JSONResponse({"error": "wrong or missing secret token"}, 403)
            body = await request.body()
            try:
                data = loads_object(body, "the update")
                check_update(data)
                update = Update.de_json(data, self.bot)
            except Exception as exc:  # BadInput, or whatever else PTB's parser refuses
                return JSONResponse({"error": f"not a Telegram update: {exc}"}, 400)
            try:
                await self.process(update)
            except StorageUnavailable:  # Telegram delivers the update again later
                log.warning("telegram: database unavailable; update %s refused", update.update_id)
                return JSONResponse(
                    {"error": "the database is unavailable; deliver the update again later"},
                    503,
                    headers={"Retry-After": "5"},
                )
            except Exception:  # Telegram delivers the update again; de-duplication holds
                log.exception("telegram: update %s failed", update.update_id)
                return JSONResponse({"error": "the update could not be handled"}, 500)
            return JSONResponse({"ok": True})

        return api

    def _secret_ok(self, given: str | None) -> bool:
        if not self.secret or given is None:
            return False
        return hmac.compare_digest(given.encode(), self.secret.encode())

    async def process(self, update: Update) -> None:
        """Handle one update from either transport."""
        if update.callback_query:
            await self._on_button(update)
        elif update.message:
            await self._on_message(update, update.message)
        else:  # edited messages, member changes...: the original was answered already
            log.debug("telegram: ignoring update %s", update.update_id)

    def _incoming(
        self, chat_id: int, user: User | None, text: str, vendor_id: str
    ) -> IncomingMessage:
        language = (base(user.language_code) or None) if user else None
        return IncomingMessage(
            channel=self.name,
            chat_id=str(chat_id),
            text=text,
            customer=Customer(
                external_id=str(user.id if user else chat_id),
                display_name=_display_name(user),
                language=language,
            ),
            vendor_message_id=vendor_id,
            language=language,
        )

    async def _route(self, msg: IncomingMessage) -> None:
        try:
            replies = await self.router.handle(msg)
        except InvalidMessage as exc:
            log.info("telegram: message in %s not handled: %s", msg.chat_id, exc)
            return
        await self.send(msg.chat_id, replies)

    async def _on_message(self, update: Update, message: Message) -> None:
        vendor_id = str(update.update_id)
        if message.text is not None:
            text = GREETING if START.match(message.text) else message.text
            await self._route(self._incoming(message.chat_id, message.from_user, text, vendor_id))
            return
        kind = _attachment(message)
        if kind is None:  # a service message (a pin, a member joined...)
            return
        text = f"[{kind}] {message.caption}" if message.caption else f"[{kind}]"
        msg = self._incoming(message.chat_id, message.from_user, text, vendor_id)
        await self._route(replace(msg, attachment=kind))

    async def _on_button(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
        except TelegramError as exc:
            log.info("telegram: could not answer button press %s: %s", query.id, exc)
        message = query.message
        if message is None or not query.data:
            return  # an inline-mode or game button: nothing of ours
        chat_id = message.chat.id
        title = None
        if isinstance(message, Message) and message.reply_markup:
            pressed = [
                b
                for row in message.reply_markup.inline_keyboard
                for b in row
                if b.callback_data == query.data
            ]
            title = pressed[0].text if pressed else None
            try:  # so the keyboard cannot be pressed twice
                await self.bot.edit_message_reply_markup(chat_id, message.message_id)
            except TelegramError as exc:
                log.info("telegram: could not remove keyboard in %s: %s", chat_id, exc)
        text = await self._payload(query.data, chat_id) if is_key(query.data) else query.data
        text = text or title
        if not text:
            log.warning("telegram: unknown button %r pressed in %s", query.data, chat_id)
            return
        # one answer per keyboard, however often it is pressed or the update delivered
        vendor_id = f"button:{message.message_id}"
        await self._route(self._incoming(chat_id, query.from_user, text, vendor_id))

    async def _payload(self, key: str, chat_id: int) -> str | None:
        """The long payload a short key stands for, from the buttons sent to this chat."""
        transcript = await self.router.store.transcript(f"{self.name}:{chat_id}")
        payloads = [
            str(b.get("payload", ""))
            for m in reversed(transcript)
            for b in (m.payload or {}).get("buttons", [])
            if isinstance(b, dict)
        ]
        return find_payload(key, payloads)

    # -- outgoing ----------------------------------------------------------------------------

    async def send(self, chat_id: str, messages: list[OutgoingMessage]) -> None:
        """Deliver replies; Telegram errors are logged, never raised into the router."""
        try:
            chat = int(chat_id)
        except ValueError:
            log.error("telegram: '%s' is not a Telegram chat id", chat_id)
            return
        for message in messages:
            for part in render(message):
                if not await self._send_text(chat, part.text, part.keyboard):
                    return

    async def _send_text(self, chat_id: int, text: str, keyboard: Any) -> bool:
        for attempt in (1, 2):
            try:
                await self.bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
                )
                return True
            except RetryAfter as exc:
                delay = _seconds(exc)
                if attempt == 2 or delay > 10:
                    log.warning("telegram: rate limited in %s, message dropped: %s", chat_id, exc)
                    return False
                await asyncio.sleep(delay)
            except Forbidden as exc:
                log.warning("telegram: cannot write to %s (blocked?): %s", chat_id, exc)
                return False
            except TelegramError as exc:
                log.warning("telegram: sending to %s failed: %s", chat_id, exc)
                return False
        return False
