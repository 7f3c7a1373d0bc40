"""`/api/agent/customers/...`: customer profiles for agents (session cookie, agent roles; every
change also needs the `X-CSRF-Token` header): search, a profile across channels, notes on the
customer, and merging two profiles of one person (reversible)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from bot.console.agent_api import HANDOFF_ROLES, NOT_FOR_WRITERS, Access, Id
from bot.console.auth import LiveSession
from bot.console.customer_merges import CustomerMerges
from bot.console.customers import CustomerProfiles, ProfileError
from bot.storage.db import Database


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class MergeBody(BaseModel):
    customer_id: int = Field(ge=1, le=2**63 - 1, description="the profile merged into this one")


def build_customers_api(access: Access, db: Database) -> APIRouter:
    api = APIRouter()
    profiles = CustomerProfiles(db)
    merges = CustomerMerges(db)
    reader = Depends(access.role(*HANDOFF_ROLES, refusal=NOT_FOR_WRITERS))
    writer = Depends(access.role(*HANDOFF_ROLES, change=True, refusal=NOT_FOR_WRITERS))

    async def run(action: Any) -> Any:
        try:
            return await action
        except ProfileError as exc:
            raise HTTPException(exc.status, str(exc)) from None

    @api.get("/api/agent/customers", tags=["customers"])
    async def search(
        q: Annotated[str, Query(max_length=200)] = "",
        _: LiveSession = reader,
    ) -> dict[str, Any]:
        """Customers whose name, e-mail, verified id or channel id contains `q`, or whose id is
        `q` ("12" or "#12"); `root_id` is the profile each belongs to."""
        if "\x00" in q:
            raise HTTPException(400, "q: a search cannot contain a NUL character")
        return {"customers": await profiles.search(q)}

    @api.get("/api/agent/customers/{customer_id}", tags=["customers"])
    async def profile(customer_id: Id, _: LiveSession = reader) -> dict[str, Any]:
        """The profile the customer belongs to (after merges): name, e-mail, verified
        identity, attributes, its rows on every channel, conversations with their outcomes,
        notes, and the merges in force (each can be undone)."""
        return {"customer": await run(profiles.profile(customer_id))}

    @api.post("/api/agent/customers/{customer_id}/notes", tags=["customers"])
    async def note(
        customer_id: Id, body: NoteBody, current: LiveSession = writer
    ) -> dict[str, Any]:
        """A note on the customer (all their conversations); never shown to them."""
        return {"note": await run(profiles.add_note(customer_id, current.agent, body.text))}

    @api.post("/api/agent/customers/{customer_id}/merge", tags=["customers"])
    async def merge(
        customer_id: Id, body: MergeBody, current: LiveSession = writer
    ) -> dict[str, Any]:
        """Merge the profile of `customer_id` in the body into this one (both resolved to the
        profiles they belong to); 400 into itself, 404 unknown, 409 already one profile."""
        done = await run(merges.merge(customer_id, body.customer_id, current.agent))
        return {"merge": done, "customer": await run(profiles.profile(done["survivor_id"]))}

    @api.post("/api/agent/customers/merges/{merge_id}/undo", tags=["customers"])
    async def undo(merge_id: Id, current: LiveSession = writer) -> dict[str, Any]:
        """Undo a merge: both profiles exactly as before; 409 when it was undone already."""
        done = await run(merges.undo(merge_id, current.agent))
        return {"merge": done, "customer": await run(profiles.profile(done["survivor_id"]))}

    return api
