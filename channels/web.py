"""The web channel: an embeddable widget over a websocket, a demo page, and the chat API.

The page may say who the customer is (name, e-mail, attributes: `{"type": "identify"}` on the
socket, or the same fields with a message); the shop brands the widget with a settings file
served at GET /widget/settings (channels/web_branding.py).

Every web conversation is opened with a server-issued credential (`POST /api/chat/sessions`):
later calls carry its token as `Authorization: Bearer <token>`, and a websocket sends it in its
first frame (or its handshake header), never in a URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from bot.conversation.router import InvalidMessage
from bot.conversation.web_sessions import Identity, Issued, Verified, WebSessions
from bot.i18n import widget_texts
from bot.language import SERBIAN_CYRILLIC, base
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.safe_json import BadInput, check_string, loads_object
from bot.storage.db import StorageUnavailable
from channels.base import Channel
from channels.web_branding import BrandingFile
from channels.web_identity import PageIdentity, page_identity

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "web_static"
SESSION = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
AUTH_TIMEOUT = 10.0  # seconds a new socket has to send its token
PAGE = 50  # transcript messages per page by default
MAX_PAGE = 200
UNAUTHORIZED = (
    "a web chat needs its token: send 'Authorization: Bearer <token>' "
    "(POST /api/chat/sessions issues a session and its token)"
)
NO_DATABASE = "the service is briefly unavailable; please try again in a moment"


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """The OpenAPI description of a JSON body the route reads itself (through safe_json)."""
    schema = {"type": "object", "properties": properties, "required": required or []}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


STRING = {"type": "string"}
CHAT_BODY = _body(
    {
        "text": STRING,
        "session": STRING,
        "id": {"anyOf": [STRING, {"type": "integer"}]},
        "name": STRING,
        "email": STRING,
        "attributes": {"type": "object", "additionalProperties": STRING, "maxProperties": 20},
        "language": STRING,
    },
    ["text"],
)
SESSION_BODY = _body({"user_id": STRING, "user_hash": STRING, "email": STRING, "name": STRING})


def _language(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput('\'language\' must be a language tag such as "hr" or "sr-Latn"')
    return base(value) if LANGUAGE.match(value) else None


def _session(value: Any) -> str:
    if not isinstance(value, str) or not SESSION.match(value):
        raise BadInput("'session' must be 1-128 letters, digits or . _ : -")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise BadInput("'text' must be a string")
    return value


def _optional(data: dict[str, Any], key: str, limit: int = 255) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(f"'{key}' must be a string")
    if len(value) > limit:
        raise BadInput(f"'{key}' must be at most {limit} characters")
    return check_string(value, f"'{key}'")


def _message_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadInput("'id' must be a string or a number")
    return str(value)[:255]


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def identity(data: dict[str, Any]) -> Identity:
    return Identity(
        user_id=_optional(data, "user_id"),
        user_hash=_optional(data, "user_hash", 128),
        email=_optional(data, "email"),
        name=_optional(data, "name"),
    )


def issued_json(issued: Issued) -> dict[str, Any]:
    return {
        "session": issued.session,
        "token": issued.token,
        "verified": issued.verified_user is not None,
        "user_id": issued.verified_user,
    }


class WebChannel(Channel):
    name = "web"
    sockets_on_hub = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = WebSessions(
            self.router.store.db, self.settings.identity_secret, self.settings.web_session_days
        )
        self._sockets: dict[str, set[WebSocket]] = defaultdict(set)
        self.branding = BrandingFile(self.settings.widget_settings_file)
        self.branding.current()  # a bad file is logged when the hub starts

    def incoming(
        self, session: str, data: dict[str, Any], page: PageIdentity | None = None
    ) -> IncomingMessage:
        """A customer message; who wrote is what the message says over what the page told the
        socket (`identify` frame): name, e-mail, attributes such as plan or page_url."""
        text = _text(data.get("text"))
        who = page_identity(data).over(page or PageIdentity())
        return IncomingMessage(
            channel=self.name,
            chat_id=session,
            text=text,
            customer=Customer(
                external_id=session,
                display_name=who.name,
                email=who.email,
                attributes=who.attributes,
            ),
            vendor_message_id=_message_id(data.get("id")),
            language=_language(data.get("language")),
        )

    async def send(self, chat_id: str, messages: list[OutgoingMessage]) -> None:
        frame = {"type": "messages", "messages": [m.to_dict() for m in messages]}
        for socket in list(self._sockets.get(chat_id, ())):
            try:
                await socket.send_json(frame)
            except Exception:
                self._sockets[chat_id].discard(socket)

    async def _authorized(self, request: Request, session: str | None) -> Verified | None:
        return await self.sessions.check(_bearer(request.headers.get("authorization")), session)

    def routes(self) -> APIRouter:
        api = APIRouter()

        @api.get("/", response_class=HTMLResponse, include_in_schema=False)
        async def demo_page() -> FileResponse:
            return FileResponse(STATIC / "demo.html", media_type="text/html")

        @api.get("/widget.js", include_in_schema=False)
        async def widget() -> FileResponse:
            return FileResponse(STATIC / "widget.js", media_type="application/javascript")

        @api.get("/widget/texts", include_in_schema=False)
        async def texts(lang: str = "") -> JSONResponse:
            """The widget's own texts in a language (`?lang=fa`; English when unknown)."""
            tag = _display_language(lang)
            return JSONResponse({"lang": tag, **widget_texts(tag)})

        @api.get("/widget/settings", include_in_schema=False)
        async def branding() -> JSONResponse:
            """The shop's branding from WIDGET_SETTINGS_FILE: `{"settings": {...}, "errors":
            [...]}`; the widget's data attributes override it."""
            return JSONResponse(self.branding.current().to_dict())

        @api.post("/api/chat/sessions", tags=["web chat"], openapi_extra=SESSION_BODY)
        async def new_session(request: Request) -> JSONResponse:
            """Open a web chat: answers `{"session", "token"}`; send the token with every later
            call. A shop's logged-in customer may be vouched for with `user_id` and `user_hash`
            (hex HMAC-SHA256 of the user id with the shop's identity secret)."""
            try:
                raw = await request.body()
                data = loads_object(raw) if raw.strip() else {}
                issued = await self.sessions.create(identity(data))
            except BadInput as exc:
                return _error(str(exc), exc.status)
            except StorageUnavailable:
                return _error(NO_DATABASE, 503)
            return JSONResponse(issued_json(issued))

        @api.post("/api/chat", tags=["web chat"], openapi_extra=CHAT_BODY)
        async def chat(request: Request) -> JSONResponse:
            """Send one customer message with `Authorization: Bearer <token>`; answers
            `{"messages": [{"text", "buttons", "sender"}...]}`. Without a session and a token a
            new session is opened for this one call and its `session` and `token` returned."""
            issued: Issued | None = None
            try:
                data = loads_object(await request.body())
                page_identity(data)  # bad identity is refused before a session is opened
                token = _bearer(request.headers.get("authorization"))
                if token is None and data.get("session") is None:
                    _text(data.get("text"))
                    if not data["text"].strip():
                        raise InvalidMessage("The message is empty.")
                    issued = await self.sessions.create()
                    session = issued.session
                else:
                    claimed = None if data.get("session") is None else _session(data["session"])
                    verified = await self.sessions.check(token, claimed)
                    if verified is None:
                        return _error(UNAUTHORIZED, 401)
                    session = verified.session
                replies = await self.router.handle(self.incoming(session, data), replay=True)
            except BadInput as exc:
                return _error(str(exc), exc.status)
            except InvalidMessage as exc:
                return _error(str(exc), 400)
            except StorageUnavailable:
                return _error(NO_DATABASE, 503)
            body: dict[str, Any] = {"messages": [m.to_dict() for m in replies]}
            if issued:
                body.update(session=issued.session, token=issued.token)
            return JSONResponse(body)

        @api.get("/api/chat/{session}", tags=["web chat"])
        async def history(session: str, request: Request) -> JSONResponse:
            """The conversation so far, newest page last (e.g. to restore the widget after a
            reload): `?limit=` messages (default 50, at most 200) before message `?before=`."""
            if not SESSION.match(session):
                return _error("invalid session id", 400)
            try:
                before = _page_param(request.query_params.get("before"), "before")
                limit = _page_param(request.query_params.get("limit"), "limit") or PAGE
                if await self._authorized(request, session) is None:
                    return _error(UNAUTHORIZED, 401)
                return JSONResponse(await self._history(session, before, min(limit, MAX_PAGE)))
            except BadInput as exc:
                return _error(str(exc), exc.status)
            except StorageUnavailable:
                return _error(NO_DATABASE, 503)

        @api.websocket("/ws")
        async def socket(websocket: WebSocket) -> None:
            await websocket.accept()
            verified = await self._handshake(websocket)
            if verified is None:
                return
            session = verified.session
            self._sockets[session].add(websocket)
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    raw = message.get("text")
                    if raw is None:
                        await _send_error(websocket, "frames are JSON text, not binary")
                        continue
                    await self._on_frame(websocket, session, raw)
            except WebSocketDisconnect:
                pass
            finally:
                self._sockets[session].discard(websocket)

        return api

    async def _history(self, session: str, before: int | None, limit: int) -> dict[str, Any]:
        store = self.router.store
        key = f"{self.name}:{session}"
        conversation = await store.conversation(key)
        if conversation is None:
            return {
                "session": session,
                "state": "bot",
                "status": {"state": "bot"},
                "messages": [],
                "more": False,
            }
        messages, more = await store.transcript_page(key, before, limit)
        return {
            "session": session,
            "state": conversation.state,
            "status": await self.router.handoffs.status(conversation),  # the widget's header
            "language": conversation.language,  # the widget shows its texts in it
            "messages": [
                {
                    "id": m.id,
                    "sender": m.sender,
                    "text": m.text,
                    "length": m.length or len(m.text),
                    "buttons": (m.payload or {}).get("buttons", []),
                    "agent": ((m.payload or {}).get("custom") or {}).get("agent"),
                    "at": m.created_at.isoformat(),
                }
                for m in messages
            ],
            "more": more,
        }

    async def signal(self, chat_id: str, frame: dict[str, Any]) -> None:
        """Push a frame that is not a message (e.g. `{"type": "typing", "agent"}`)."""
        for socket in list(self._sockets.get(chat_id, ())):
            try:
                await socket.send_json(frame)
            except Exception:
                self._sockets[chat_id].discard(socket)

    async def _handshake(self, websocket: WebSocket) -> Verified | None:
        """The token from the handshake's Authorization header or the first frame
        `{"type": "auth", "token": "..."}`; answers `{"type": "ready", "session"}`."""
        if "session" in websocket.query_params or "token" in websocket.query_params:
            await _refuse(websocket, "credentials never go in the URL: " + UNAUTHORIZED)
            return None
        token = _bearer(websocket.headers.get("authorization"))
        language = None
        try:
            if token is None:
                try:
                    raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT)
                except TimeoutError:
                    await _refuse(websocket, "no auth frame: " + UNAUTHORIZED)
                    return None
                frame = loads_object(raw, "the frame")
                if frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
                    await _refuse(websocket, 'the first frame must be {"type": "auth", "token"}')
                    return None
                token, language = frame["token"], _language(frame.get("language"))
            verified = await self.sessions.check(token)
        except (BadInput, KeyError) as exc:
            await _refuse(websocket, str(exc) if isinstance(exc, BadInput) else "frames are text")
            return None
        except StorageUnavailable:
            await _send_error(websocket, NO_DATABASE, 503)
            await websocket.close(code=1011, reason="database unavailable")
            return None
        except WebSocketDisconnect:
            return None
        if verified is None:
            await _refuse(websocket, UNAUTHORIZED)
            return None
        websocket.state.language = language
        await websocket.send_json({"type": "ready", "session": verified.session})
        return verified

    async def _on_frame(self, websocket: WebSocket, session: str, raw: str) -> None:
        reply_to = None
        try:
            data = loads_object(raw, "the frame")
            reply_to = data.get("id") if isinstance(data.get("id"), str | int) else None
            if data.get("type") == "typing":  # the customer is typing: agents may see it
                await self.router.handoffs.customer_typing(f"{self.name}:{session}")
                return
            if data.get("type") == "identify":  # who the page says the customer is
                websocket.state.page = page_identity(data)
                await websocket.send_json({"type": "identified", "reply_to": reply_to})
                return
            if data.get("type", "message") != "message":
                raise BadInput('frames look like {"type": "message", "text": "..."}')
            data.setdefault("language", getattr(websocket.state, "language", None))
            page = getattr(websocket.state, "page", None)
            replies = await self.router.handle(self.incoming(session, data, page), replay=True)
        except BadInput as exc:
            await _send_error(websocket, str(exc), exc.status, reply_to)
            return
        except InvalidMessage as exc:
            await _send_error(websocket, str(exc), 400, reply_to)
            return
        except StorageUnavailable:
            await _send_error(websocket, NO_DATABASE, 503, reply_to)
            return
        await websocket.send_json(
            {
                "type": "messages",
                "messages": [m.to_dict() for m in replies],
                "reply_to": reply_to,
                "language": await self._language_of(session),
            }
        )

    # -- the conversation's language for the widget's own texts (issue 9) ---------------------

    async def _language_of(self, session: str) -> str | None:
        """The conversation's language (the hub may have changed it on this message)."""
        try:
            conversation = await self.router.store.conversation(f"{self.name}:{session}")
        except StorageUnavailable:
            return None
        return conversation.language if conversation is not None else None


def _display_language(value: str) -> str:
    """A browser's language tag as the catalog knows it: `sr-Cyrl` stays, `fa-IR` → `fa`;
    anything that is not a language tag is English."""
    if not LANGUAGE.match(value or ""):
        return "en"
    if base(value) == "sr" and "cyrl" in value.lower():
        return SERBIAN_CYRILLIC
    return base(value)


def _page_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 12 or int(value) < 1:
        raise BadInput(f"'{name}' must be a positive whole number")
    return int(value)


async def _send_error(
    websocket: WebSocket, error: str, status: int = 400, reply_to: Any = None
) -> None:
    frame: dict[str, Any] = {"type": "error", "error": error, "status": status}
    if reply_to is not None:
        frame["reply_to"] = reply_to
    await websocket.send_json(frame)


async def _refuse(websocket: WebSocket, error: str) -> None:
    """Tell the client why, then close: 1008 (policy violation) is the websocket's 401."""
    try:
        await _send_error(websocket, error, 401)
        await websocket.close(code=1008, reason="unauthorized")
    except (WebSocketDisconnect, RuntimeError):
        pass
