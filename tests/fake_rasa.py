"""A local stand-in for the Rasa HTTP server, for router and channel tests that need to
control Rasa's behaviour (slow, failing). The real Rasa runs in tests/e2e."""

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
    delay: float = 0.0
    failing: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            if self.failing:
                return JSONResponse({"error": "boom"}, 500)
            await asyncio.sleep(self.delay)
            self.received.append(body)
            text = body["message"]
            if text == "say nothing":  # as when one of Rasa's actions fails
                return JSONResponse([])
            if text == "handoff please":
                return JSONResponse(
                    [
                        {
                            "recipient_id": body["sender"],
                            "custom": {"handoff": {"reason": "requested"}},
                        }
                    ]
                )
            return JSONResponse([{"recipient_id": body["sender"], "text": f"echo: {text}"}])

        async def status(_: Request) -> JSONResponse:
            return JSONResponse({"model_id": "fake"}, 500 if self.failing else 200)

        async def tracker(_: Request) -> JSONResponse:
            return JSONResponse(
                {"latest_message": {"intent": {"name": "greet", "confidence": 0.9}}}
            )

        async def append_event(request: Request) -> JSONResponse:
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
