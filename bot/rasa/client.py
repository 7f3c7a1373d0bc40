"""Talks to the Rasa server over its REST channel and HTTP API.

A slow Rasa is told from a dead one by its health: while a turn is in Rasa, `/status` is asked
every `timeout` seconds; the turn is given up only when that fails or after `max_wait` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

import httpx

from bot.messages import OutgoingMessage


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached, stopped answering its health check, or answered with an
    error. `delivered` is False when the request surely never reached Rasa."""

    def __init__(self, message: str, delivered: bool = True) -> None:
        super().__init__(message)
        self.delivered = delivered


class RasaClient:
    def __init__(
        self, url: str, timeout: float = 15.0, token: str = "", max_wait: float | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_wait = max_wait if max_wait else 10 * timeout
        # Rasa's --auth-token, as its HTTP API expects it (a query parameter)
        self._auth = {"token": token} if token else {}
        # Rasa's server closes a connection idle for 5 s; one reused just as it closes fails
        # without an answer and the turn would count as lost in Rasa: drop idle ones sooner
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=timeout, limits=httpx.Limits(keepalive_expiry=2.0)
        )

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[OutgoingMessage]:
        """Rasa's replies to one turn; raises RasaUnavailable when Rasa is dead, not when slow."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        request = asyncio.ensure_future(self._post(body))
        try:
            while True:
                remaining = deadline - loop.time()
                done, _ = await asyncio.wait({request}, timeout=min(self.timeout, remaining))
                if done:
                    return request.result()
                if loop.time() >= deadline:
                    raise RasaUnavailable(f"no answer from Rasa after {self.max_wait:g} s")
                if not await self.healthy(timeout=self.timeout):
                    raise RasaUnavailable("Rasa stopped answering its health check")
        finally:
            if not request.done():
                request.cancel()
                with contextlib.suppress(asyncio.CancelledError, RasaUnavailable):
                    await request

    async def _post(self, body: dict[str, Any]) -> list[OutgoingMessage]:
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook",
                json=body,
                timeout=httpx.Timeout(self.max_wait, connect=self.timeout),
            )
            response.raise_for_status()
            data = response.json()
        except httpx.ConnectError as exc:
            raise RasaUnavailable(f"ConnectError: {exc}", delivered=False) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected answer from Rasa: {data!r:.200}")
        return [OutgoingMessage.from_rasa(item) for item in data if isinstance(item, dict)]

    async def healthy(self, timeout: float = 3.0) -> bool:
        try:
            response = await self._http.get("/status", params=self._auth, timeout=timeout)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    async def tracker(self, sender: str, events: str = "AFTER_RESTART") -> dict[str, Any]:
        """The conversation's tracker as Rasa's HTTP API returns it."""
        try:
            response = await self._http.get(
                f"/conversations/{quote(sender, safe=':@')}/tracker",
                params={**self._auth, "include_events": events},
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc
        return data if isinstance(data, dict) else {}

    async def latest_message(self, sender: str) -> dict[str, Any]:
        """The tracker's latest user message (intent, confidence, text)."""
        latest = (await self.tracker(sender, "NONE")).get("latest_message")
        return latest if isinstance(latest, dict) else {}

    async def replies_to(self, sender: str, message_id: int) -> list[OutgoingMessage] | None:
        """Rasa's replies to the turn that carried the hub's `message_id` in its metadata, rebuilt
        from the tracker's events; None if Rasa never logged that turn."""
        events = (await self.tracker(sender, "AFTER_RESTART")).get("events") or []
        replies: list[OutgoingMessage] | None = None
        for event in events:
            if not isinstance(event, dict):
                continue
            kind = event.get("event")
            if kind == "user":
                if replies is not None:
                    break  # the next turn
                if (event.get("metadata") or {}).get("message_id") == message_id:
                    replies = []
            elif kind == "bot" and replies is not None:
                data = {k: v for k, v in (event.get("data") or {}).items() if v is not None}
                replies.append(OutgoingMessage.from_rasa({"text": event.get("text"), **data}))
        return replies

    async def append_event(self, sender: str, event: dict[str, Any]) -> None:
        """Add an event (e.g. pause / resume) to a conversation's tracker."""
        try:
            response = await self._http.post(
                f"/conversations/{quote(sender, safe=':@')}/tracker/events",
                json=event,
                params=self._auth,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self._http.aclose()
