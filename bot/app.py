"""The hub's web app: channels' routes, Rasa's action endpoint and the health check."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from bot import task_dump
from bot.console.agent_api import Access, build_agent_api
from bot.console.customers_api import build_customers_api
from bot.console.routing_api import build_routing_api
from bot.console.typing_api import build_typing_api
from bot.http_limits import RASA_CALL_BYTES, BodyLimit, SecurityHeaders
from bot.hub import Hub
from bot.knowledge.api import build_knowledge_api
from bot.reports.api import build_reports_api
from bot.safe_json import BadInput, loads_object

log = logging.getLogger(__name__)


def create_app(hub: Hub) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        task_dump.install()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(title="supportbot hub", version="0.1.0", lifespan=lifespan)
    app.state.hub = hub
    app.add_middleware(
        BodyLimit, max_bytes=hub.settings.max_body_bytes, per_path={"/webhook": RASA_CALL_BYTES}
    )
    app.add_middleware(SecurityHeaders)  # outermost: its headers reach every response

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """200 while the hub runs; the body tells the state of the database, Rasa and the index."""
        return JSONResponse(await hub.health())

    @app.post("/webhook", tags=["rasa"], include_in_schema=False)
    async def action_webhook(request: Request) -> JSONResponse:
        """Rasa's action server protocol, served in-process by rasa-sdk's executor; only for
        Rasa, which sends the token the hub gave it (`Authorization: Bearer <token>`)."""
        expected = hub.settings.action_token.encode()
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected)
        if not expected or not valid:
            return JSONResponse({"error": "missing or wrong action token"}, 401)
        try:
            call = loads_object(await request.body())
        except BadInput as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        try:
            result = await hub.executor.run(call)
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 400)
        except ActionNotFoundException as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 404)
        except ActionMissingDomainException as exc:  # Rasa re-sends the call with its domain
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 449)
        except Exception as exc:
            log.exception("action %s failed", call.get("next_action"))
            return JSONResponse({"error": str(exc), "action_name": call.get("next_action")}, 500)
        return JSONResponse(result.model_dump() if result else None)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse({"error": f"invalid request: {problems}"}, 400)

    for channel in hub.channels.values():
        app.include_router(channel.routes())
    if hub.desk:
        app.include_router(hub.desk.routes())
    access = Access(hub.agents)  # one login for the agent and the knowledge APIs
    app.include_router(
        build_agent_api(
            hub.agents,
            hub.handoffs,
            hub.views,
            hub.events,
            hub.settings.secure_cookies,
            access,
            presence=hub.presence,
        )
    )
    app.include_router(build_routing_api(access, hub.profiles, hub.hours))  # languages, hours
    app.include_router(build_knowledge_api(access, hub.kb, hub.writers, hub.gaps))
    app.include_router(build_reports_api(access, hub.reports))
    app.include_router(build_typing_api(access, hub.handoffs))  # "Ana is typing…"
    app.include_router(build_customers_api(access, hub.db))  # profiles, notes, merges
    return app
