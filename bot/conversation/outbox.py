"""What a customer is sent outside a request: late bot replies, agents' messages, "Ana joined",
typing frames.

A web-chat customer's socket lives on one hub, maybe not this one: what goes to it is published
on the event bus (`to_customer`) and sent by whichever hub holds the socket (`on_event`, a
subscriber on every hub). Channels without sockets here (Telegram, Slack) are called at once by
the hub that delivers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.cluster.events import Event, LocalBus
from bot.messages import OutgoingMessage
from bot.storage.models import Conversation

if TYPE_CHECKING:  # channels need the router, which needs an outbox
    from channels.base import Channel

log = logging.getLogger(__name__)


class Outbox:
    """`channels`: the hub's channels by name (the hub fills it once they are built: they need
    the router, which needs this outbox)."""

    def __init__(self, bus: LocalBus, channels: Mapping[str, Channel]) -> None:
        self.bus = bus
        self.channels = channels
        bus.subscribe(self.on_event, ["to_customer"])

    async def deliver(self, conversation: Conversation, messages: list[OutgoingMessage]) -> None:
        channel = self.channels.get(conversation.channel)
        if channel is None:
            log.error("no channel '%s' to deliver to %s", conversation.channel, conversation.key)
            return
        if not messages:
            return
        if not channel.sockets_on_hub:
            await channel.send(conversation.chat_id, messages)
            return
        body = {"channel": channel.name, "chat_id": conversation.chat_id}
        data = {"customer": {**body, "messages": [m.to_dict() for m in messages]}}
        await self.bus.publish(Event("to_customer", conversation.key, data=data))

    async def signal(self, conversation: Conversation, frame: dict[str, Any]) -> None:
        """A frame that is not a message (typing) to channels that can show it."""
        channel = self.channels.get(conversation.channel)
        if channel is None or getattr(channel, "signal", None) is None:
            return
        body = {"channel": channel.name, "chat_id": conversation.chat_id, "frame": frame}
        await self.bus.publish(Event("to_customer", conversation.key, data={"customer": body}))

    async def on_event(self, event: Event) -> None:
        """A reply or a typing frame for a customer: sent if their socket is on this hub."""
        body = event.data.get("customer")
        if not isinstance(body, dict):
            return
        channel = self.channels.get(str(body.get("channel")))
        if channel is None or not channel.sockets_on_hub:
            return
        chat_id = str(body.get("chat_id"))
        if "frame" in body:
            signal = getattr(channel, "signal", None)
            if signal is not None:
                await signal(chat_id, body["frame"])
            return
        messages = [OutgoingMessage.from_dict(m) for m in body.get("messages") or []]
        await channel.send(chat_id, messages)
