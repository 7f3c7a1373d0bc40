"""Who has which conversation open in the console ("Ben is viewing"): each console socket says
which handoff it shows; every change is broadcast to the consoles as
`{"type": "presence", "viewers": {"<handoff id>": [{"username", "display_name"}, ...]}}`.
An agent whose console connects has `arrived` (auto-assignment gives them what waits)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.storage.models import Agent

log = logging.getLogger(__name__)

Broadcast = Callable[[dict[str, Any]], Awaitable[None]]
Arrival = Callable[[Agent], Awaitable[None]]


class Presence:
    def __init__(self, broadcast: Broadcast, on_arrival: Arrival | None = None) -> None:
        self.broadcast = broadcast
        self.on_arrival = on_arrival  # e.g. bot/handoff/routing.py: assign what waits to them
        self._viewing: dict[object, tuple[int, str, str]] = {}  # socket -> (id, user, name)

    def viewers(self) -> dict[str, list[dict[str, str]]]:
        shown: dict[str, dict[str, dict[str, str]]] = {}
        for handoff_id, username, name in self._viewing.values():
            shown.setdefault(str(handoff_id), {})[username] = {
                "username": username,
                "display_name": name,
            }
        return {key: sorted(v.values(), key=lambda a: a["username"]) for key, v in shown.items()}

    async def view(self, socket: object, agent: Agent, handoff_id: int | None) -> None:
        """`socket` (of `agent`) now shows `handoff_id` (None: none)."""
        before = self._viewing.get(socket)
        if handoff_id is None:
            self._viewing.pop(socket, None)
        else:
            self._viewing[socket] = (handoff_id, agent.username, agent.display_name)
        if before != self._viewing.get(socket):
            await self._announce()

    async def arrived(self, agent: Agent) -> None:
        """A console socket of `agent` just opened; a failing listener never closes it."""
        if self.on_arrival is None:
            return
        try:
            await self.on_arrival(agent)
        except Exception:
            log.exception("handling %s's arrival failed", agent.username)

    async def leave(self, socket: object) -> None:
        if self._viewing.pop(socket, None) is not None:
            await self._announce()

    async def _announce(self) -> None:
        await self.broadcast({"type": "presence", "viewers": self.viewers()})


def viewing_of(message: Any) -> tuple[bool, int | None]:
    """(is it a "viewing" message, the handoff id in it) for one message from a console."""
    if not isinstance(message, dict) or message.get("type") != "viewing":
        return False, None
    value = message.get("handoff_id")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**63 - 1:
        return True, value
    return True, None
