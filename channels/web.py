"""The web channel: an embeddable widget over a websocket, a demo page, and `POST /api/chat`."""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.router import InvalidMessage
from channels.base import Channel

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "web_static"
SESSION = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")


class BadRequest(ValueError):
    pass


def _language(value: Any) -> str | None:
    if isinstance(value, str) and LANGUAGE.match(value):
        return value.split("-")[0].split("_")[0].lower()
    return None


def _session(value: Any) -> str:
    if not isinstance(value, str) or not SESSION.match(value):
        raise BadRequest("'session' must be 1-128 letters, digits or . _ : -")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest("'text' must be a string")
    return value


class WebChannel(Channel):
    name = "web"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sockets: dict[str, set[WebSocket]] = defaultdict(set)

    def incoming(self, session: str, data: dict[str, Any]) -> IncomingMessage:
        message_id = data.get("id")
        return IncomingMessage(
            channel=self.name,
            chat_id=session,
            text=_text(data.get("text")),
            customer=Customer(external_id=session, display_name=data.get("name") or None),
            vendor_message_id=str(message_id)[:255] if message_id else None,
            language=_language(data.get("language")),
        )

    async def send(self, chat_id: str, messages: list[OutgoingMessage]) -> None:
        frame = {"type": "messages", "messages": [m.to_dict() for m in messages]}
        for socket in list(self._sockets.get(chat_id, ())):
            try:
                await socket.send_json(frame)
            except Exception:
                self._sockets[chat_id].discard(socket)

    def routes(self) -> APIRouter:
        api = APIRouter()

        @api.get("/", response_class=HTMLResponse, include_in_schema=False)
        async def demo_page() -> FileResponse:
            return FileResponse(STATIC / "demo.html", media_type="text/html")

        @api.get("/widget.js", include_in_schema=False)
        async def widget() -> FileResponse:
            return FileResponse(STATIC / "widget.js", media_type="application/javascript")

        @api.post("/api/chat", tags=["web chat"])
        async def chat(request: Request) -> JSONResponse:
            """Send one customer message; answers `{"messages": [{"text", "buttons"}...]}`."""
            try:
                data = json.loads(await request.body())
                if not isinstance(data, dict):
                    raise BadRequest("the body must be a JSON object")
                msg = self.incoming(_session(data.get("session")), data)
                replies = await self.router.handle(msg)
            except json.JSONDecodeError as exc:
                return JSONResponse({"error": f"the body is not valid JSON: {exc}"}, 400)
            except (BadRequest, InvalidMessage) as exc:
                return JSONResponse({"error": str(exc)}, 400)
            return JSONResponse({"messages": [m.to_dict() for m in replies]})

        @api.get("/api/chat/{session}", tags=["web chat"])
        async def history(session: str) -> JSONResponse:
            """The conversation so far (e.g. to restore the widget after a reload)."""
            if not SESSION.match(session):
                return JSONResponse({"error": "invalid session id"}, 400)
            conversation = await self.router.store.conversation(f"{self.name}:{session}")
            if conversation is None:
                return JSONResponse({"error": f"unknown session '{session}'"}, 404)
            messages = await self.router.store.transcript(conversation.key)
            return JSONResponse(
                {
                    "state": conversation.state,
                    "messages": [
                        {
                            "sender": m.sender,
                            "text": m.text,
                            "buttons": (m.payload or {}).get("buttons", []),
                            "at": m.created_at.isoformat(),
                        }
                        for m in messages
                    ],
                }
            )

        @api.websocket("/ws")
        async def socket(websocket: WebSocket) -> None:
            await websocket.accept()
            try:
                session = _session(websocket.query_params.get("session"))
            except BadRequest as exc:
                await websocket.send_json({"type": "error", "error": str(exc)})
                await websocket.close(code=1008)
                return
            language = websocket.query_params.get("lang")
            self._sockets[session].add(websocket)
            try:
                while True:
                    raw = await websocket.receive_text()
                    await self._on_frame(websocket, session, raw, language)
            except WebSocketDisconnect:
                pass
            finally:
                self._sockets[session].discard(websocket)

        return api

    async def _on_frame(
        self, websocket: WebSocket, session: str, raw: str, language: str | None
    ) -> None:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("type", "message") != "message":
                raise BadRequest('frames look like {"type": "message", "text": "..."}')
            data.setdefault("language", language)
            replies = await self.router.handle(self.incoming(session, data))
        except json.JSONDecodeError:
            await websocket.send_json({"type": "error", "error": "the frame is not valid JSON"})
            return
        except (BadRequest, InvalidMessage) as exc:
            await websocket.send_json({"type": "error", "error": str(exc)})
            return
        await websocket.send_json(
            {
                "type": "messages",
                "messages": [m.to_dict() for m in replies],
                "reply_to": data.get("id"),
            }
        )
