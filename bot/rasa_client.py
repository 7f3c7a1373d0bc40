"""Talks to the Rasa server over its REST channel and HTTP API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from bot.messages import OutgoingMessage


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached, timed out, or answered with an error."""


class RasaClient:
    def __init__(self, url: str, timeout: float = 15.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout)

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[OutgoingMessage]:
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected answer from Rasa: {data!r:.200}")
        return [OutgoingMessage.from_rasa(item) for item in data if isinstance(item, dict)]

    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/status", timeout=3.0)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    async def latest_message(self, sender: str) -> dict[str, Any]:
        """The tracker's latest user message (intent, confidence, text)."""
        try:
            response = await self._http.get(
                f"/conversations/{quote(sender, safe=':@')}/tracker",
                params={"include_events": "NONE"},
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc
        latest = data.get("latest_message") if isinstance(data, dict) else None
        return latest if isinstance(latest, dict) else {}

    async def append_event(self, sender: str, event: dict[str, Any]) -> None:
        """Add an event (e.g. pause / resume) to a conversation's tracker."""
        try:
            response = await self._http.post(
                f"/conversations/{quote(sender, safe=':@')}/tracker/events", json=event
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self._http.aclose()
