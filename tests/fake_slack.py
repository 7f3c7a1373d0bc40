"""A local stand-in for Slack's Web API, and a signer for Events API / interactivity requests.

Point slack-sdk's `AsyncWebClient(token, base_url=f"{url}/api/")` at `FakeSlack().app()` served
with `tests.support.serve`; every call is recorded in `calls` as (method, params) with the
query string, form body and JSON body merged (slack-sdk sends any of them). Answers are
Slack-shaped (`{"ok": true, ...}`); make a method fail with `errors["chat.postMessage"] =
"channel_not_found"`, answer anything with `responses["views.open"] = {...}`, or make the next
N calls of a method hit Slack's rate limit (HTTP 429, `Retry-After: 0`) with `rate_limited`.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"


def signed(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with `body`: `X-Slack-Signature` + `X-Slack-Request-Timestamp`,
    computed with slack-sdk's own `SignatureVerifier` (pass an old `timestamp` for a stale one)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@dataclass
class FakeSlack:
    token: str | None = None  # set: calls with another bearer token get invalid_auth
    bot_user_id: str = BOT_USER_ID
    team_id: str = TEAM_ID
    users: dict[str, str] = field(default_factory=dict)  # user id -> real name
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack error code
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> answer
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> next N calls 429
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (ch, ts)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def called(self, method: str) -> list[dict[str, Any]]:
        """The params of every call of `method`, in order."""
        return [params for name, params in self.calls if name == method]

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method in self.errors:
            return {"ok": False, "error": self.errors[method]}
        if method in self.responses:
            return {"ok": True, **self.responses[method]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "supportbot",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": BOT_ID,
            }
        if method in ("chat.postMessage", "chat.update"):
            channel = str(params.get("channel", ""))
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            ts = self._next_ts() if method == "chat.postMessage" else str(params.get("ts", ""))
            if method == "chat.update" and (channel, ts) not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            message = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": BOT_ID,
                "text": params.get("text", ""),
                "blocks": params.get("blocks", []),
                "ts": ts,
            }
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "users.info":
            user = str(params.get("user", ""))
            if user not in self.users:
                return {"ok": False, "error": "user_not_found"}
            name = self.users[user]
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "team_id": self.team_id,
                    "name": name.lower().replace(" ", "."),
                    "real_name": name,
                    "is_bot": False,
                    "profile": {"real_name": name, "display_name": name.split(" ")[0]},
                },
            }
        if method == "conversations.open":
            users = str(params.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users.replace(",", "").lstrip("U")}}
        return {"ok": False, "error": "unknown_method"}

    def app(self) -> Starlette:
        async def method(request: Request) -> JSONResponse:
            name = request.path_params["method"]
            params: dict[str, Any] = dict(request.query_params)
            raw = await request.body()
            content_type = request.headers.get("content-type", "")
            if raw and content_type.startswith("application/json"):
                body = json.loads(raw)
                if isinstance(body, dict):
                    params.update(body)
            elif raw:
                params.update(parse_qsl(raw.decode(), keep_blank_values=True))
            for key in ("blocks", "attachments"):  # form-encoded blocks arrive as JSON text
                if isinstance(params.get(key), str):
                    params[key] = json.loads(params[key])
            self.calls.append((name, params))
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if self.rate_limited.get(name, 0) > 0:
                self.rate_limited[name] -= 1
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"}, 429, headers={"Retry-After": "0"}
                )
            if self.token is not None and bearer != self.token:
                return JSONResponse({"ok": False, "error": "invalid_auth"})
            return JSONResponse(self._answer(name, params))

        return Starlette(routes=[Route("/api/{method}", method, methods=["GET", "POST"])])
