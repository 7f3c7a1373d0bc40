"""The message path: store first, then route to the conversation's owner, then deliver.

Nothing here knows about Telegram, Slack or the web widget: channels only translate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from bot.messages import IncomingMessage, OutgoingMessage
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.storage.models import Conversation
from bot.storage.repo import Store

log = logging.getLogger(__name__)

Deliver = Callable[[Conversation, list[OutgoingMessage]], Awaitable[None]]

RASA_DOWN = (
    "Sorry, I'm having a technical problem and can't answer right now. Your message is saved: "
    "I'll reply here as soon as I'm back, or you can ask for a person."
)
TOO_LONG = "Your message is too long ({length} characters). Please keep it under {limit}."
HANDOFF = (
    "I'm passing this conversation to a person from our team. They will see everything you've "
    "written here, so you won't need to repeat yourself."
)


class InvalidMessage(ValueError):
    """The message cannot be processed at all (e.g. empty); nothing was stored."""


class Router:
    def __init__(self, store: Store, rasa: RasaClient, max_chars: int = 4000) -> None:
        self.store = store
        self.rasa = rasa
        self.max_chars = max_chars
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.deliver: Deliver | None = None  # push to a channel (used for late replies)

    async def handle(self, msg: IncomingMessage) -> list[OutgoingMessage]:
        """Store the message, get the replies, store them and return them to the channel."""
        if not msg.text or not msg.text.strip():
            raise InvalidMessage("The message is empty.")
        async with self._locks[msg.conversation_key]:
            if len(msg.text) > self.max_chars:
                stored = await self.store.store_incoming(msg, status="rejected")
                if not stored.created:
                    return []
                replies = [
                    OutgoingMessage(
                        TOO_LONG.format(length=len(msg.text), limit=self.max_chars),
                        sender="system",
                    )
                ]
                await self.store.store_outgoing(stored.conversation.id, replies)
                return replies
            stored = await self.store.store_incoming(msg)
            if not stored.created:
                return []  # a retried delivery of a message we already handled
            return await self._to_bot(stored.conversation, stored.message.id, msg.text)

    async def _to_bot(
        self, conversation: Conversation, message_id: int, text: str
    ) -> list[OutgoingMessage]:
        try:
            raw = await self.rasa.send(conversation.key, text, self._metadata(conversation))
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for %s: %s", conversation.key, exc)
            await self.store.set_status(message_id, "pending")
            replies = [OutgoingMessage(RASA_DOWN, sender="system")]
            await self.store.store_outgoing(conversation.id, replies)
            return replies
        replies = self._interpret(raw)
        await self.store.store_outgoing(conversation.id, replies)
        await self.store.set_status(message_id, "processed")
        await self._annotate(conversation.key)
        return replies

    def _interpret(self, raw: list[OutgoingMessage]) -> list[OutgoingMessage]:
        replies: list[OutgoingMessage] = []
        for reply in raw:
            if reply.text or reply.buttons:
                replies.append(reply)
            if reply.custom and "handoff" in reply.custom:
                replies.append(
                    OutgoingMessage(HANDOFF, custom={"handoff": reply.custom["handoff"]})
                )
        return replies

    @staticmethod
    def _metadata(conversation: Conversation) -> dict[str, Any]:
        return {
            "channel": conversation.channel,
            "language": conversation.language,
            "conversation": conversation.key,
            "customer_id": conversation.customer_id,
        }

    async def _annotate(self, key: str) -> None:
        """Record what Rasa understood (intent, confidence) on the stored message."""
        try:
            latest = await self.rasa.latest_message(key)
        except RasaUnavailable:
            return
        intent = (latest or {}).get("intent") or {}
        await self.store.annotate(key, intent.get("name"), intent.get("confidence"))

    async def retry_pending(self) -> int:
        """Send messages that arrived while Rasa was down; push the replies to their channel."""
        done = 0
        for conversation, message in await self.store.pending():
            async with self._locks[conversation.key]:
                try:
                    raw = await self.rasa.send(
                        conversation.key, message.text, self._metadata(conversation)
                    )
                except RasaUnavailable:
                    return done
                replies = self._interpret(raw)
                await self.store.store_outgoing(conversation.id, replies)
                await self.store.set_status(message.id, "processed")
            if self.deliver:
                try:
                    await self.deliver(conversation, replies)
                except Exception:
                    log.exception("could not deliver late replies to %s", conversation.key)
            done += 1
        return done
