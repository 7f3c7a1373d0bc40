"""The small interface every channel implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from fastapi import APIRouter

from bot.cluster.lease import Leader
from bot.conversation.router import Router
from bot.messages import OutgoingMessage
from bot.settings import Settings


class Channel(ABC):
    name: ClassVar[str]
    # the customers' connections live on one hub (the web chat's sockets): with several hubs,
    # what is sent to them goes through the event bus to whichever hub holds them
    sockets_on_hub: ClassVar[bool] = False

    @classmethod
    def enabled(cls, settings: Settings) -> bool:
        """Whether the settings turn this channel on (e.g. a token is set)."""
        return True

    def __init__(self, router: Router, settings: Settings, leader: Leader | None = None) -> None:
        self.router = router
        self.settings = settings
        # work that must run on one hub of several (e.g. Telegram's long polling) runs under
        # this lease (bot/cluster/lease.py); alone, this hub always leads
        self.leader = leader or Leader("channel")

    @abstractmethod
    def routes(self) -> APIRouter:
        """HTTP / websocket routes this channel serves on the hub."""

    @abstractmethod
    async def send(self, chat_id: str, messages: list[OutgoingMessage]) -> None:
        """Push messages to a chat outside a request (late replies, agents)."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Start background work (polling, clients)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop background work."""
