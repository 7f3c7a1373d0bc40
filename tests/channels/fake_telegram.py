"""A local stand-in for the Telegram Bot API, for driving python-telegram-bot's real `Bot`.

Serves `/bot<token>/<method>` like api.telegram.org, records every call with its decoded
parameters, serves queued updates to long polls, and can be told to fail.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Support", "username": "support_bot"}
JSON_FIELDS = {"reply_markup", "allowed_updates"}
MAX_POLL = 0.5  # seconds a long poll is held here at most (Telegram may answer early too)


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot
    _next_id: int = 1000
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)

    def queue(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._new_update.set()

    def fail(self, method: str, status: int = 500, **extra: Any) -> None:
        """Make the next call of `method` fail with this HTTP status."""
        self.failures.setdefault(method, []).append((status, extra))

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.called(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} called {len(self.called(method))} times")
            await asyncio.sleep(0.02)

    def _message(self, chat_id: int, text: str, markup: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {
            "message_id": self._next_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        return message

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), MAX_POLL)
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                pass

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "sendMessage":
            return self._message(int(params["chat_id"]), params["text"], params.get("reply_markup"))
        if method == "editMessageReplyMarkup":
            return self._message(int(params["chat_id"]), "edited", params.get("reply_markup"))
        return True  # setWebhook, deleteWebhook, answerCallbackQuery

    def app(self) -> Starlette:
        async def api(request: Request) -> JSONResponse:
            if request.path_params["token"] != self.token:
                return JSONResponse(
                    {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
                )
            method = request.path_params["method"]
            params: dict[str, Any] = {}
            for key, value in parse_qsl((await request.body()).decode()):  # PTB posts a form
                params[key] = json.loads(value) if key in JSON_FIELDS else value
            self.calls.append(Call(method, params))
            if self.failures.get(method):
                status, extra = self.failures[method].pop(0)
                body = {"ok": False, "error_code": status, "description": "fake failure"}
                if extra:
                    body["parameters"] = extra
                return JSONResponse(body, status)
            if method == "sendMessage" and int(params["chat_id"]) in self.blocked:
                return JSONResponse(
                    {
                        "ok": False,
                        "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user",
                    },
                    403,
                )
            return JSONResponse({"ok": True, "result": await self._result(method, params)})

        return Starlette(routes=[Route("/bot{token}/{method}", api, methods=["GET", "POST"])])
