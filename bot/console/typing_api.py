"""`POST /api/agent/handoffs/{id}/typing`: the agent who has a conversation is typing; the
customer's widget shows "Ana is typing…" (throttled by `Handoffs.agent_typing`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from bot.console.agent_api import HANDOFF_ROLES, NOT_FOR_WRITERS, Access, Id
from bot.console.auth import LiveSession
from bot.handoff.handoffs import HandoffError, Handoffs


def build_typing_api(access: Access, handoffs: Handoffs) -> APIRouter:
    api = APIRouter()
    worker = Depends(access.role(*HANDOFF_ROLES, change=True, refusal=NOT_FOR_WRITERS))

    @api.post("/api/agent/handoffs/{handoff_id}/typing", tags=["agent"])
    async def typing(handoff_id: Id, current: LiveSession = worker) -> dict[str, bool]:
        """Tell the customer the agent is typing (only the agent who has the conversation);
        answers `{"sent": false}` when it was passed on less than 2 s ago."""
        try:
            return {"sent": await handoffs.agent_typing(handoff_id, current.agent)}
        except HandoffError as exc:
            raise HTTPException(exc.status, str(exc)) from exc

    return api
