"""Live updates for the agent console: who is connected, and broadcasting events to them."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import WebSocket

from bot.storage.models import Agent

log = logging.getLogger(__name__)


class AgentEvents:
    def __init__(self) -> None:
        self._sockets: dict[WebSocket, str] = {}

    def join(self, socket: WebSocket, agent: Agent) -> None:
        self._sockets[socket] = agent.username

    def leave(self, socket: WebSocket) -> None:
        self._sockets.pop(socket, None)

    def online(self) -> set[str]:
        return set(self._sockets.values())

    def anyone_online(self) -> bool:
        return bool(self._sockets)

    async def broadcast(self, event: dict[str, Any]) -> None:
        for socket in list(self._sockets):
            try:
                await socket.send_json(event)
            except Exception:
                log.debug("dropping a closed agent socket")
                self.leave(socket)
