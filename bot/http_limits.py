"""What every HTTP exchange with the hub is bounded by, as two small ASGI middlewares:

- `BodyLimit`: a request body over the limit gets 413 and `{"error": ...}`. A declared
  Content-Length over the limit is refused before the app runs; a chunked body is counted while
  the app reads it, so no more than the limit (plus one network chunk) is ever held.
- `SecurityHeaders`: `nosniff` and `no-referrer` on every response, `no-store` on the JSON API,
  a Content-Security-Policy for the demo page; an unhandled error becomes a JSON 500 that carries
  them too. Headers a route sets itself (the console's CSP) are kept.

WebSocket frames are bounded by the server (uvicorn's `ws_max_size`: close 1009).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The demo page: its own <style> block and the one the widget injects; the widget script and
# its API calls and socket on this origin.
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
EVERYWHERE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
PAGES = {"/": {"Content-Security-Policy": DEMO_CSP}}
NO_STORE_PREFIX = "/api/"  # agent sessions, CSRF tokens, customers' transcripts
# Rasa's calls to the hub's action endpoint carry the conversation's whole tracker, which grows
# with every turn; the endpoint checks Rasa's token before it reads a byte.
RASA_CALL_BYTES = 16 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit. An HTTPException, so FastAPI's body
    parsing lets it through and the app's handler answers it with a JSON 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


async def send_json(send: Send, status: int, body: dict[str, str]) -> None:
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _content_length(scope: Scope) -> int | None:
    try:
        return int(Headers(scope=scope)["content-length"])
    except (KeyError, ValueError):
        return None


class BodyLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})  # exact paths with a limit of their own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await send_json(send, 413, {"error": BodyTooLarge(limit).detail})
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            if received > limit:  # asked again after the refusal: refuse again
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # an app without a handler for HTTPException
            if started:
                raise
            await send_json(send, 413, {"error": exc.detail})


def headers_for(path: str) -> dict[str, str]:
    headers = {**EVERYWHERE, **PAGES.get(path, {})}
    if path.startswith(NO_STORE_PREFIX):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope["path"])
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name == "Cache-Control" or name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if not started:  # answer in JSON with the headers; the server still logs the error
                await send_json(with_headers, 500, {"error": "internal error (logged)"})
            raise
