"""Live updates for the agent console: who is connected, and broadcasting events to them.

Every socket belongs to one login session. It is closed (code 4401 and a reason) when that
session ends: on logout, when it expires (checked before every broadcast), and when it is found
revoked or its agent disabled (checked every `recheck_seconds`, which also catches a logout,
a password reset or a disabling done by another hub or by the CLI)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import WebSocket

from bot.cluster.events import Event, LocalBus, console_event, console_frames
from bot.storage.models import Agent, utcnow

log = logging.getLogger(__name__)

SESSION_ENDED = 4401  # the WebSocket twin of HTTP 401: log in again
HEARTBEAT_SECONDS = 2.0  # each hub says who is online on it; 3 missed: they are not


@dataclass(frozen=True)
class _Member:
    username: str
    session: str  # the login session's id
    expires_at: datetime | None
    role: str = "agent"


class AgentEvents:
    """`bus`: frames go through it, so the consoles on every hub get them (bot/cluster/events.py);
    None: straight to this hub's consoles."""

    def __init__(
        self,
        recheck_seconds: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        bus: LocalBus | None = None,
    ) -> None:
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._sockets: dict[WebSocket, _Member] = {}
        self.bus = bus
        # agents online on the other hubs, from their heartbeats: hub -> (usernames, seen at)
        self._elsewhere: dict[str, tuple[frozenset[str], float]] = {}
        if bus is not None:
            bus.subscribe(self._from_bus)  # every event with frames for consoles
            bus.subscribe(self._heard, ["agents_online"])

    def join(
        self,
        socket: WebSocket,
        agent: Agent,
        session: str = "",
        expires_at: datetime | None = None,
    ) -> None:
        self._sockets[socket] = _Member(agent.username, session, expires_at, agent.role)

    def leave(self, socket: WebSocket) -> None:
        self._sockets.pop(socket, None)

    def online_here(self) -> set[str]:
        return {member.username for member in self._sockets.values()}

    def online(self) -> set[str]:
        """Agents with a console open on this hub or, by their last heartbeat, on another."""
        fresh = time.monotonic() - HEARTBEAT_SECONDS * 3
        elsewhere = (names for names, seen in self._elsewhere.values() if seen >= fresh)
        return self.online_here().union(*elsewhere)

    def anyone_online(self) -> bool:
        return bool(self.online())

    async def heartbeat(self) -> None:
        """Tell the other hubs who is online here, every HEARTBEAT_SECONDS (runs on every
        hub; without a bus there is nobody to tell)."""
        while self.bus is not None:
            names = sorted(self.online_here())
            try:
                await self.bus.publish(Event("agents_online", data={"agents": names}))
            except Exception:
                log.warning("could not send the presence heartbeat", exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _heard(self, event: Event) -> None:
        if self.bus is None or event.origin == self.bus.origin:
            return
        names = event.data.get("agents")
        if isinstance(names, list):
            self._elsewhere[event.origin] = (frozenset(map(str, names)), time.monotonic())

    async def end_session(self, session: str, reason: str) -> int:
        """Close the sockets of one login session; how many were closed."""
        ended = [s for s, m in list(self._sockets.items()) if m.session == session]
        for socket in ended:
            await self._close(socket, reason)
        return len(ended)

    async def close_expired(self) -> int:
        now = self.clock()
        expired = [
            s
            for s, m in list(self._sockets.items())
            if m.expires_at is not None and m.expires_at <= now
        ]
        for socket in expired:
            await self._close(socket, "session expired")
        return len(expired)

    async def watch(self, socket: WebSocket, still_valid: Callable[[], Awaitable[bool]]) -> None:
        """Until the socket leaves: every `recheck_seconds`, close it if its session ended."""
        while socket in self._sockets:
            await asyncio.sleep(self.recheck_seconds)
            if socket not in self._sockets:
                return
            try:
                valid = await still_valid()
            except Exception:  # the database is down: keep the socket, look again later
                log.warning("could not recheck an agent socket's session", exc_info=True)
                continue
            if not valid:
                await self._close(socket, "session ended")

    async def broadcast(self, event: dict[str, Any], roles: Collection[str] | None = None) -> None:
        """Send `event` to every console (only to those of `roles`, when given), on every hub
        when there is a bus."""
        if self.bus is None:
            await self.send_here(event, roles)
        else:
            await self.bus.publish(console_event(event, roles))

    async def _from_bus(self, event: Event) -> None:
        roles = event.data.get("roles")
        for frame in console_frames(event):
            await self.send_here(frame, roles if isinstance(roles, list) else None)

    async def send_here(self, event: dict[str, Any], roles: Collection[str] | None = None) -> None:
        """Send `event` to the consoles connected to this hub (of `roles`, when given)."""
        await self.close_expired()
        for socket, member in list(self._sockets.items()):
            if roles is not None and member.role not in roles:
                continue
            try:
                await socket.send_json(event)
            except Exception:
                log.debug("dropping a closed agent socket")
                self.leave(socket)

    async def _close(self, socket: WebSocket, reason: str) -> None:
        member = self._sockets.pop(socket, None)
        if member:
            log.info("closing %s's console socket: %s", member.username, reason)
        try:
            await socket.close(code=SESSION_ENDED, reason=reason)
        except Exception:
            log.debug("agent socket already closed")
