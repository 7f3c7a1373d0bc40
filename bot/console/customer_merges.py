"""An explicit, reversible merge of two profiles of the same person (web, Telegram, Slack).

Merging B into A sets `B.merged_into = A` and writes a `customer_merges` row; A's profile then
shows B's conversations, attributes and notes (bot/console/customers.py). Undoing it clears
`merged_into` and stamps `undone_at`: both profiles are exactly as before. Both sides are
resolved to their roots first, so merging into a merged profile merges into the one it belongs
to, and no chain ever loops. The roots are locked (PostgreSQL: SELECT ... FOR UPDATE, in id
order) and re-checked, so two agents merging A into B and B into A at once cannot make a cycle.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.customers import MAX_ID, CustomerMerge, ProfileError, root_of
from bot.storage.db import Database
from bot.storage.models import Agent, Customer, utcnow

ATTEMPTS = 3  # a root that changed between reading and locking: read again


class CustomerMerges:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock()  # one merge at a time in this process (SQLite has no locks)

    @staticmethod
    async def _customer(s: AsyncSession, customer_id: int) -> Customer:
        row = await s.get(Customer, customer_id) if 1 <= customer_id <= MAX_ID else None
        if row is None:
            raise ProfileError(f"no customer {customer_id}", 404)
        return row

    async def merge(self, survivor_id: int, merged_id: int, agent: Agent) -> dict[str, Any]:
        """Merge the profile of `merged_id` into the profile of `survivor_id`; the merge."""
        if survivor_id == merged_id:
            raise ProfileError("a profile cannot be merged into itself")
        async with self._lock:
            for _ in range(ATTEMPTS):
                async with self.db.session() as s:
                    survivor = await root_of(s, await self._customer(s, survivor_id))
                    merged = await root_of(s, await self._customer(s, merged_id))
                    if survivor.id == merged.id:
                        raise ProfileError(
                            f"customer {merged_id} is already part of this profile "
                            f"(#{survivor.id})",
                            409,
                        )
                    locked = (
                        await s.execute(
                            select(Customer.id, Customer.merged_into)
                            .where(Customer.id.in_(sorted((survivor.id, merged.id))))
                            .order_by(Customer.id)
                            .with_for_update()
                        )
                    ).tuples()
                    if any(parent is not None for _, parent in locked):
                        await s.rollback()  # merged meanwhile: resolve the roots again
                        continue
                    await s.execute(
                        update(Customer)
                        .where(Customer.id == merged.id)
                        .values(merged_into=survivor.id)
                    )
                    row = CustomerMerge(
                        survivor_id=survivor.id, merged_id=merged.id, agent_id=agent.id
                    )
                    s.add(row)
                    await s.commit()
                    return {"id": row.id, "survivor_id": survivor.id, "merged_id": merged.id}
        raise ProfileError("the profiles changed while merging them: try again", 409)

    async def undo(self, merge_id: int, agent: Agent) -> dict[str, Any]:
        """Undo a merge: the merged profile stands alone again, as it was."""
        async with self._lock, self.db.session() as s:
            row = await s.get(CustomerMerge, merge_id) if 1 <= merge_id <= MAX_ID else None
            if row is None:
                raise ProfileError(f"no merge {merge_id}", 404)
            if row.undone_at is not None:
                raise ProfileError(f"merge {merge_id} was already undone", 409)
            result = await s.execute(
                update(Customer)
                .where(Customer.id == row.merged_id, Customer.merged_into == row.survivor_id)
                .values(merged_into=None)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await s.rollback()
                raise ProfileError(f"merge {merge_id} is no longer in force", 409)
            row.undone_at = utcnow()
            row.undone_by = agent.id
            await s.commit()
            return {"id": row.id, "survivor_id": row.survivor_id, "merged_id": row.merged_id}
