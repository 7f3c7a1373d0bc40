"""Explicit registry of channels: name -> class. Add a channel by adding a line."""

from __future__ import annotations

from channels.base import Channel
from channels.slack import SlackChannel
from channels.telegram import TelegramChannel
from channels.web import WebChannel

CHANNELS: dict[str, type[Channel]] = {
    WebChannel.name: WebChannel,
    SlackChannel.name: SlackChannel,
    TelegramChannel.name: TelegramChannel,
}
