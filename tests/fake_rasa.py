"""A local stand-in for the Rasa HTTP server, for router and channel tests that need to
control Rasa's behaviour (slow, stuck, failing). The real Rasa runs in tests/e2e.

Like Rasa, it keeps a tracker per conversation: a turn's `user` event (with the metadata the
hub sent) and its `bot` events are logged once the turn is done, and `GET .../tracker` returns
them. With `token` set, the HTTP API (not the REST channel) wants `?token=` as Rasa's
`--auth-token` does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FakeRasa:
    delay: float = 0.0  # a slow Rasa: turns take this long, /status still answers
    failing: bool = False  # errors everywhere
    stuck: bool = False  # a wedged Rasa: turns hang while set and /status fails
    token: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unauthorized: int = 0  # API calls refused for a missing or wrong token

    def _replies(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        text = body["message"]
        if text == "say nothing":  # as when one of Rasa's actions fails
            return []
        if text == "handoff please":
            return [
                {"recipient_id": body["sender"], "custom": {"handoff": {"reason": "requested"}}}
            ]
        return [{"recipient_id": body["sender"], "text": f"echo: {text}"}]

    def app(self) -> Starlette:
        def allowed(request: Request) -> bool:
            if self.token and request.query_params.get("token") != self.token:
                self.unauthorized += 1
                return False
            return True

        def refused() -> JSONResponse:
            return JSONResponse({"status": "failure", "reason": "NotAuthenticated"}, 401)

        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            if self.failing:
                return JSONResponse({"error": "boom"}, 500)
            while self.stuck:  # until unstuck (the server cannot stop before that)
                await asyncio.sleep(0.05)
            started = asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() - started < self.delay:  # 0: done at once
                await asyncio.sleep(0.02)
            self.received.append(body)
            replies = self._replies(body)
            tracker = self.trackers.setdefault(body["sender"], [])
            tracker.append({"event": "user", "text": body["message"], "metadata": body["metadata"]})
            for reply in replies:
                data = {"custom": reply.get("custom"), "buttons": reply.get("buttons")}
                tracker.append({"event": "bot", "text": reply.get("text"), "data": data})
            return JSONResponse(replies)

        async def status(request: Request) -> JSONResponse:
            if not allowed(request):
                return refused()
            return JSONResponse({"model_id": "fake"}, 500 if self.failing or self.stuck else 200)

        async def tracker(request: Request) -> JSONResponse:
            if not allowed(request):
                return refused()
            events = self.trackers.get(request.path_params["sender"], [])
            return JSONResponse(
                {
                    "latest_message": {"intent": {"name": "greet", "confidence": 0.9}},
                    "events": events
                    if request.query_params.get("include_events") != "NONE"
                    else None,
                }
            )

        async def append_event(request: Request) -> JSONResponse:
            if not allowed(request):
                return refused()
            self.events.append((request.path_params["sender"], await request.json()))
            return JSONResponse({})

        return Starlette(
            routes=[
                Route("/webhooks/rest/webhook", webhook, methods=["POST"]),
                Route("/status", status),
                Route("/conversations/{sender}/tracker/events", append_event, methods=["POST"]),
                Route("/conversations/{sender}/tracker", tracker),
            ]
        )
