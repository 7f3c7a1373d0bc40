"""The agent console (`/agent`) and its JSON API (`/api/agent/...`).

(No `from __future__ import annotations` here: FastAPI must resolve the local dependency
aliases `Reader`, `Writer` and `Admin` when the routes are declared.)

Every endpoint but login needs the session cookie; every state-changing one also needs the
session's CSRF token in the `X-CSRF-Token` header. Admin-only: managing saved replies.
Repeated failed logins for one account or from one address get 429 with `Retry-After`.
"""

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import delete, select
from starlette.websockets import WebSocketDisconnect

from bot.console.agent_events import AgentEvents
from bot.console.auth import SESSION_LIFETIME, AgentDirectory, LiveSession, Throttled
from bot.console.inbox import MAX_PAGE, PAGE, Inbox, InboxQuery, LabelError, clean_label
from bot.console.presence import Presence, viewing_of
from bot.handoff.context import HandoffViews
from bot.handoff.handoffs import HandoffError, Handoffs
from bot.storage.models import Agent, SavedReply

# a row id as a database column holds it: larger ones are a 400, not a driver error
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "sb_session"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
)


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ResolveBody(BaseModel):
    note: str = Field(default="", max_length=4000)
    survey: StrictBool = Field(
        default=True,
        description="false: resolve without asking the customer for a rating (survey_skipped)",
    )


class TransferBody(BaseModel):
    agent: str = Field(max_length=64)


class LabelBody(BaseModel):
    label: str = Field(min_length=1, max_length=32)


class SavedReplyBody(BaseModel):
    title: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=4000)


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name,
        "role": agent.role,
    }


class Access:
    """The console's credentials as FastAPI dependencies, shared by every API behind the login
    (agents, knowledge): `session` (the session cookie; 401 without a live one), `csrf` (also the
    session's CSRF token in `X-CSRF-Token`, for every change; 403) and `role(...)` (one of the
    roles a route admits; 403). Routers annotate with them:
    `Reader = Annotated[LiveSession, Depends(access.session)]`."""

    def __init__(self, directory: AgentDirectory) -> None:
        self.directory = directory

    async def session(self, request: Request) -> LiveSession:
        found = await self.directory.session(request.cookies.get(COOKIE))
        if found is None:
            raise HTTPException(401, "log in first")
        return found

    async def csrf(self, request: Request) -> LiveSession:
        current = await self.session(request)
        token = request.headers.get("x-csrf-token", "")
        if not secrets.compare_digest(token, current.csrf):
            raise HTTPException(403, "missing or wrong X-CSRF-Token header")
        return current

    def role(
        self, *roles: str, change: bool = False, refusal: str = ""
    ) -> Callable[[Request], Awaitable[LiveSession]]:
        """A dependency: logged in with one of `roles` (and the CSRF header when `change`)."""
        message = refusal or f"only for {' and '.join(roles)} accounts"
        base = self.csrf if change else self.session

        async def check(request: Request) -> LiveSession:
            current = await base(request)
            if current.agent.role not in roles:
                raise HTTPException(403, message)
            return current

        return check


HANDOFF_ROLES = ("agent", "supervisor", "admin")
NOT_FOR_WRITERS = "writers do not work handoffs: this is for agent, supervisor and admin accounts"


def build_agent_api(
    directory: AgentDirectory,
    handoffs: Handoffs,
    views: HandoffViews,
    events: AgentEvents,
    secure_cookies: bool = False,
    access: Access | None = None,
    inbox: Inbox | None = None,
    presence: Presence | None = None,
) -> APIRouter:
    api = APIRouter()
    access = access or Access(directory)
    inbox = inbox or Inbox(handoffs.db, views)
    presence = presence or Presence(events.broadcast)
    Reader = Annotated[LiveSession, Depends(access.session)]
    Writer = Annotated[LiveSession, Depends(access.csrf)]
    Admin = Annotated[
        LiveSession, Depends(access.role("admin", change=True, refusal="admins only"))
    ]
    # writers work on the knowledge base, not on handoffs
    DeskReader = Annotated[
        LiveSession, Depends(access.role(*HANDOFF_ROLES, refusal=NOT_FOR_WRITERS))
    ]
    DeskWriter = Annotated[
        LiveSession, Depends(access.role(*HANDOFF_ROLES, change=True, refusal=NOT_FOR_WRITERS))
    ]

    async def handoff_json(handoff_id: int) -> dict[str, Any]:
        item = await views.item(handoff_id)
        if item is None:
            raise HTTPException(404, f"no handoff {handoff_id}")
        return item

    async def run(action: Any) -> Any:
        try:
            return await action
        except HandoffError as exc:
            raise HTTPException(exc.status, str(exc), headers=None) from exc

    @api.get("/agent", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(
            STATIC / "console.html",
            media_type="text/html",
            headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"},
        )

    @api.get("/agent/static/{name}", include_in_schema=False)
    async def static(name: str) -> FileResponse:
        # the pages themselves are served by their own routes, with their CSP
        allowed = {p.name: p for p in STATIC.iterdir() if p.suffix != ".html"}
        if name not in allowed:
            raise HTTPException(404, "not found")
        return FileResponse(allowed[name])

    @api.post(
        "/api/agent/login",
        tags=["agents"],
        responses={
            401: {"description": "Wrong username or password, or a disabled account"},
            429: {"description": "Too many failed logins: wait `Retry-After` seconds"},
        },
    )
    async def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
        """Log in; sets an HttpOnly session cookie and returns the CSRF token."""
        address = request.client.host if request.client else "-"
        try:
            result = await directory.login(body.username, body.password, address)
        except Throttled as exc:
            raise HTTPException(
                429, str(exc), headers={"Retry-After": str(exc.retry_after)}
            ) from None
        if result is None:
            raise HTTPException(401, "wrong username or password")
        response.set_cookie(
            COOKIE,
            result.token,
            httponly=True,
            samesite="strict",
            secure=secure_cookies,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/",
        )
        return {"agent": agent_json(result.agent), "csrf": result.csrf}

    @api.post("/api/agent/logout", tags=["agents"])
    async def logout(request: Request, response: Response, current: Writer) -> dict[str, Any]:
        """End this session; its open live-update sockets are closed (code 4401)."""
        await directory.logout(request.cookies.get(COOKIE))
        await events.end_session(current.id, "logged out")
        response.delete_cookie(COOKIE, path="/")
        return {}

    @api.get("/api/agent/me", tags=["agents"])
    async def me(current: Reader) -> dict[str, Any]:
        return {"agent": agent_json(current.agent), "csrf": current.csrf}

    @api.get("/api/agent/agents", tags=["agents"])
    async def agents(_: Reader) -> dict[str, Any]:
        online = events.online()
        return {
            "agents": [
                {**agent_json(a), "online": a.username in online} for a in await directory.all()
            ]
        }

    @api.get("/api/agent/queue", tags=["handoffs"])
    async def queue(_: DeskReader) -> dict[str, Any]:
        """Open handoffs, highest priority first, then longest waiting."""
        return {"handoffs": await views.queue()}

    @api.get("/api/agent/handoffs", tags=["handoffs"])
    async def inbox_view(
        current: DeskReader,
        view: Literal["mine", "unassigned", "open", "resolved"] = "open",
        q: Annotated[str, Query(max_length=200)] = "",
        label: Annotated[str, Query(max_length=32)] = "",
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE,
    ) -> dict[str, Any]:
        """The inbox: `view` mine (claimed by you), unassigned (queued), open (both; the
        default, sorted as the queue) or resolved (latest first, with `rating` and
        `resolution_note`); `q` finds the text in customer messages, replies and notes
        (case-insensitive, % and _ literal); `label` keeps conversations with that label.
        `counts` has every view's total under the same `q` and `label`; `next_offset` the
        next page's offset (null on the last page); `viewers` who has which handoff open
        ({"<id>": [{"username", "display_name"}]}, then live as `presence` events)."""
        if "\x00" in q:  # no text holds it; PostgreSQL cannot even compare it
            raise HTTPException(400, "q: a search cannot contain a NUL character")
        try:
            wanted = clean_label(label) if label.strip() else ""
        except LabelError as exc:
            raise HTTPException(400, str(exc)) from None
        query = InboxQuery(view, q.strip(), wanted, offset, limit)
        found = await inbox.page(query, current.agent.id)
        found["viewers"] = presence.viewers()  # who has which conversation open
        return found

    @api.get("/api/agent/labels", tags=["handoffs"])
    async def labels(_: DeskReader) -> dict[str, Any]:
        """Every label in use and how many conversations carry it."""
        return {"labels": await inbox.all_labels()}

    @api.post("/api/agent/handoffs/{handoff_id}/labels", tags=["handoffs"])
    async def add_label(handoff_id: Id, body: LabelBody, current: DeskWriter) -> dict[str, Any]:
        """Label the handoff's conversation (lower-cased); the conversation's labels."""
        try:
            found = await inbox.add_label(
                handoff_id, clean_label(body.label), current.agent.username
            )
        except LabelError as exc:
            raise HTTPException(400, str(exc)) from None
        if found is None:
            raise HTTPException(404, f"no handoff {handoff_id}")
        await events.broadcast({"type": "labels", "handoff_id": handoff_id, "labels": found})
        return {"labels": found}

    @api.delete("/api/agent/handoffs/{handoff_id}/labels/{label}", tags=["handoffs"])
    async def remove_label(
        handoff_id: Id, label: Annotated[str, PathParam(max_length=64)], _: DeskWriter
    ) -> dict[str, Any]:
        try:
            cleaned = clean_label(label)
        except LabelError as exc:
            raise HTTPException(400, str(exc)) from None
        found = await inbox.remove_label(handoff_id, cleaned)
        if found is None:
            raise HTTPException(404, f"no handoff {handoff_id}")
        await events.broadcast({"type": "labels", "handoff_id": handoff_id, "labels": found})
        return {"labels": found}

    @api.get("/api/agent/handoffs/{handoff_id}", tags=["handoffs"])
    async def context(
        handoff_id: Id,
        _: DeskReader,
        before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    ) -> dict[str, Any]:
        """Everything the agent needs: reason, customer, summary, signals, notes and the latest
        200 messages; `transcript_more` says if there are older ones (`?before=<message id>`)."""
        found = await views.context(handoff_id, before)
        if found is None:
            raise HTTPException(404, f"no handoff {handoff_id}")
        found.update(await inbox.extras(handoff_id))  # labels, rating
        found["viewers"] = presence.viewers().get(str(handoff_id), [])
        return found

    @api.post("/api/agent/handoffs/{handoff_id}/claim", tags=["handoffs"])
    async def claim(handoff_id: Id, current: DeskWriter) -> JSONResponse:
        try:
            await handoffs.claim(handoff_id, current.agent)
        except HandoffError as exc:
            return JSONResponse({"error": str(exc), **exc.extra}, exc.status)
        return JSONResponse({"handoff": await handoff_json(handoff_id)})

    @api.post("/api/agent/handoffs/{handoff_id}/messages", tags=["handoffs"])
    async def reply(handoff_id: Id, body: TextBody, current: DeskWriter) -> dict[str, Any]:
        """Send a reply to the customer on their channel."""
        return {"message": await run(handoffs.reply(handoff_id, current.agent, body.text))}

    @api.post("/api/agent/handoffs/{handoff_id}/notes", tags=["handoffs"])
    async def note(handoff_id: Id, body: TextBody, current: DeskWriter) -> dict[str, Any]:
        """A private note: never shown to the customer."""
        saved = await run(handoffs.add_note(handoff_id, current.agent, body.text))
        return {"note": {"agent": current.agent.display_name, "text": saved.text}}

    @api.post("/api/agent/handoffs/{handoff_id}/transfer", tags=["handoffs"])
    async def transfer(handoff_id: Id, body: TransferBody, current: DeskWriter) -> dict[str, Any]:
        target = await directory.by_username(body.agent)
        if target is None:
            raise HTTPException(404, f"no agent '{body.agent}'")
        await run(handoffs.transfer(handoff_id, current.agent, target))
        return {"handoff": await handoff_json(handoff_id)}

    @api.post("/api/agent/handoffs/{handoff_id}/resolve", tags=["handoffs"])
    async def resolve(handoff_id: Id, body: ResolveBody, current: DeskWriter) -> dict[str, Any]:
        """Hand the conversation back to the bot, which asks the customer for a 1–5 rating —
        unless `survey` is false ("resolve without survey") or the customer was asked within
        SURVEY_EVERY_DAYS; then the customer is only told they are back with the bot."""
        await run(handoffs.resolve(handoff_id, current.agent, body.note, body.survey))
        return {"handoff": await handoff_json(handoff_id)}

    @api.get("/api/agent/saved-replies", tags=["saved replies"])
    async def saved_replies(_: Reader) -> dict[str, Any]:
        async with handoffs.db.session() as s:
            rows = (await s.execute(select(SavedReply).order_by(SavedReply.title))).scalars()
            return {"replies": [{"id": r.id, "title": r.title, "text": r.text} for r in rows]}

    @api.post("/api/agent/saved-replies", tags=["saved replies"])
    async def add_saved_reply(body: SavedReplyBody, _: Admin) -> dict[str, Any]:
        async with handoffs.db.session() as s:
            row = SavedReply(title=body.title, text=body.text)
            s.add(row)
            await s.commit()
            return {"reply": {"id": row.id, "title": row.title, "text": row.text}}

    @api.delete("/api/agent/saved-replies/{reply_id}", tags=["saved replies"])
    async def delete_saved_reply(reply_id: Id, _: Admin) -> dict[str, Any]:
        async with handoffs.db.session() as s:
            result = await s.execute(delete(SavedReply).where(SavedReply.id == reply_id))
            await s.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            raise HTTPException(404, f"no saved reply {reply_id}")
        return {}

    @api.websocket("/api/agent/ws")
    async def live(websocket: WebSocket) -> None:
        """Live events for the console; closed with 4401 when the login session ends."""
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        token = websocket.cookies.get(COOKIE)
        found = await directory.session(token)
        if found is None or (origin and origin.split("://", 1)[-1] != host):
            await websocket.close(code=1008)
            return
        if found.agent.role not in HANDOFF_ROLES:  # handoff events: not for writers
            await websocket.close(code=1008)
            return
        await websocket.accept()
        events.join(websocket, found.agent, found.id, found.expires_at)
        await presence.arrived(found.agent)  # auto-assignment: what waits may be theirs

        async def still_valid() -> bool:
            return await directory.session(token) is not None

        watcher = asyncio.create_task(events.watch(websocket, still_valid))
        try:
            while True:
                # pings, and {"type": "viewing", "handoff_id": <id or null>} (collision)
                raw = await websocket.receive_text()
                try:
                    message = json.loads(raw) if len(raw) < 1000 else None
                except ValueError:
                    continue
                is_viewing, handoff_id = viewing_of(message)
                if is_viewing:
                    await presence.view(websocket, found.agent, handoff_id)
        except WebSocketDisconnect:
            pass
        finally:
            watcher.cancel()
            events.leave(websocket)
            await presence.leave(websocket)

    return api
