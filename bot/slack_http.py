"""Slack's HTTP requests to our two Slack apps (the customer channel and the agent desk).

The signature is checked on the raw bytes before anything is parsed (401), then the body is
parsed as bolt would parse it, through `safe_json` (400 with the reason). Only then does bolt see
it: a malformed or forged request never reaches a listener and never becomes a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.async_app import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.safe_json import BadInput, check_string, loads_object

MAX_AGE = 5 * 60  # seconds; older requests may be replayed
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def signed_by_slack(
    body: bytes, headers: Any, secret: str, now: Callable[[], float] = time.time
) -> bool:
    """Slack's v0 request signature (HMAC-SHA256 of "v0:<timestamp>:<body>") and a fresh
    timestamp; any malformed header is simply not a valid signature."""
    timestamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    if not secret or not TIMESTAMP.match(timestamp) or abs(now() - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("latin-1"))


def parse(body: bytes, content_type: str | None) -> dict[str, Any]:
    """What bolt's `parse_body` makes of `body`, or BadInput: JSON (Events API) or a form whose
    `payload` field is JSON (interactivity)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"the body is not valid UTF-8 (byte {exc.start})") from None
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return loads_object(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    for key, value in form.items():
        check_string(key, "a form field name")
        check_string(value, f"the form field '{key}'")
    if "payload" in text:
        return loads_object(form.get("payload", "{}"), "the form's payload")
    return form


async def bolt_request(request: Request, secret: str) -> AsyncBoltRequest | JSONResponse:
    """The request for bolt to dispatch, or the error response to send instead."""
    body = await request.body()
    if not signed_by_slack(body, request.headers, secret):
        return JSONResponse({"error": "missing, wrong or stale Slack signature"}, 401)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip() or None
    try:
        parse(body, content_type)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, exc.status)
    return AsyncBoltRequest(
        body=body.decode("utf-8"), query=str(request.query_params), headers=dict(request.headers)
    )


def http_response(response: BoltResponse) -> Response:
    return Response(
        status_code=response.status,
        content=response.body,
        headers=response.first_headers_without_set_cookie(),
    )
