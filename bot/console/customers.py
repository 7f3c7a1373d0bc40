"""Who the customer is: one profile across conversations and channels.

A profile is a customer row (one per channel and external id) and every row an agent merged
into it (`customers.merged_into`, possibly in a chain: B into A, then A into C). It shows the
name, e-mail and verified identity, the attributes the shop passed to the widget (plan, order
number, page URL), the conversations on every channel with their outcomes, and agents' notes
on the customer. Merging and undoing a merge: bot/console/customer_merges.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Integer, Text, func, or_, select
from sqlalchemy import DateTime as SaDateTime
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.console.inbox import like_pattern
from bot.messages import Customer as Incoming
from bot.storage.db import Database
from bot.storage.models import (
    Agent,
    Base,
    Conversation,
    Customer,
    Handoff,
    Message,
    Rating,
    utcnow,
)

MAX_ATTRIBUTES = 30  # per customer row; further new keys are dropped
MAX_KEY = 40
MAX_VALUE = 200  # characters: "short strings"
ATTRIBUTE_KEY = re.compile(r"^[\w][\w .:/-]*$")  # letters of any script, digits, a few marks
MAX_CONVERSATIONS = 50  # shown on a profile, the latest first
MAX_NOTE = 4000
MAX_ID = 2**63 - 1


class CustomerNote(Base):
    """An agent's note on the customer (not on one conversation); never shown to them."""

    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(SaDateTime(timezone=True), default=utcnow)


class CustomerMerge(Base):
    """An agent merged profile `merged_id` into `survivor_id`; `undone_at` once undone."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(SaDateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(SaDateTime(timezone=True))
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class ProfileError(ValueError):
    """A request about profiles that cannot be done; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- what channels tell us


def _short(value: object, limit: int) -> str:
    """One line of at most `limit` characters (no NUL: PostgreSQL cannot store it)."""
    return " ".join(str(value).replace("\x00", "").split())[:limit]


def clean_attributes(raw: Mapping[Any, Any] | None) -> dict[str, str]:
    """The shop's attributes as short strings: keys of letters, digits and `_ .:/-` (at most
    40 characters), values cut to 200 characters; None, lists and objects are dropped."""
    cleaned: dict[str, str] = {}
    for key, value in (raw or {}).items():
        name = _short(key, MAX_KEY)
        if not ATTRIBUTE_KEY.match(name) or value is None or isinstance(value, dict | list):
            continue
        text = _short(str(value).lower() if isinstance(value, bool) else value, MAX_VALUE)
        if text:
            cleaned[name] = text
    return cleaned


def absorb(row: Customer, incoming: Incoming, language: str | None = None) -> bool:
    """Take what a channel says about the customer into their row; whether anything changed.
    Attributes are merged (new values win; at most MAX_ATTRIBUTES keys); a name or e-mail the
    shop vouched for (a verified identity, bot/conversation/web_sessions.py) is never
    overwritten by one that merely arrived with a message."""
    changed = False
    verified = bool(row.verified_id)
    name = _short(incoming.display_name or "", 255)
    if name and name != row.display_name and not (verified and row.display_name):
        row.display_name, changed = name, True
    email = _short(incoming.email or "", 255)
    if email and email != row.email and not (verified and row.email):
        row.email, changed = email, True
    if language and not row.language:
        row.language, changed = language, True
    given = clean_attributes(incoming.attributes)
    if given:
        current = dict(row.attributes or {})
        for key, value in given.items():
            if key in current or len(current) < MAX_ATTRIBUTES:
                current[key] = value
        if current != (row.attributes or {}):
            row.attributes, changed = current, True
    return changed


# ---------------------------------------------------------------- reading profiles


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)).isoformat()


async def root_of(s: AsyncSession, customer: Customer) -> Customer:
    """The profile a customer row belongs to: follow `merged_into` to the end."""
    seen = {customer.id}
    while customer.merged_into is not None:
        parent = await s.get(Customer, customer.merged_into)
        if parent is None or parent.id in seen:  # a broken chain never loops
            break
        seen.add(parent.id)
        customer = parent
    return customer


async def members_of(s: AsyncSession, root: Customer) -> list[Customer]:
    """The root and every row merged into it, directly or through another, root first."""
    found = [root]
    frontier = [root.id]
    seen = {root.id}
    while frontier:
        rows = (
            await s.execute(
                select(Customer).where(Customer.merged_into.in_(frontier)).order_by(Customer.id)
            )
        ).scalars()
        frontier = []
        for row in rows:
            if row.id not in seen:
                seen.add(row.id)
                found.append(row)
                frontier.append(row.id)
    return found


def _outcome(status: str | None, agent: str | None, score: int | None) -> str:
    if status is None:
        return "handled by the bot"
    if status == "queued":
        return "waiting for an agent"
    if status == "claimed":
        return f"with {agent}" if agent else "with an agent"
    rated = f" · rated {score}/5" if score is not None else ""
    return (f"resolved by {agent}" if agent else "resolved") + rated


def _row_json(row: Customer) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "external_id": row.external_id,
        "name": row.display_name,
        "email": row.email,
        "verified": row.verified_id,
        "merged_into": row.merged_into,
        "first_seen": _iso(row.first_seen),
    }


async def conversations_of(s: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    """The conversations of some customer rows, the latest first, each with its latest
    handoff's outcome and the customer's first words."""
    conversations = list(
        (
            await s.execute(
                select(Conversation)
                .where(Conversation.customer_id.in_(ids))
                .order_by(Conversation.created_at.desc(), Conversation.id.desc())
                .limit(MAX_CONVERSATIONS)
            )
        ).scalars()
    )
    keys = [c.id for c in conversations]
    if not keys:
        return []
    handoffs: dict[int, tuple[Handoff, str | None]] = {}
    rows = await s.execute(
        select(Handoff, Agent.display_name)
        .outerjoin(Agent, Agent.id == Handoff.agent_id)
        .where(Handoff.conversation_id.in_(keys))
        .order_by(Handoff.id)
    )
    counts: dict[int, int] = {}
    for one, by in rows.tuples():
        handoffs[one.conversation_id] = (one, by)  # the latest one wins
        counts[one.conversation_id] = counts.get(one.conversation_id, 0) + 1
    scores: dict[int, int] = {}
    rated = await s.execute(
        select(Rating.handoff_id, Rating.score)
        .where(Rating.conversation_id.in_(keys), Rating.kind == "csat")
        .order_by(Rating.id)
    )
    for rated_id, given in rated.tuples():
        if rated_id is not None:
            scores[rated_id] = given
    first_ids = (
        select(func.min(Message.id))
        .where(Message.conversation_id.in_(keys), Message.direction == "in")
        .group_by(Message.conversation_id)
    )
    first = {
        c_id: text
        for c_id, text in (
            await s.execute(
                select(Message.conversation_id, Message.text).where(Message.id.in_(first_ids))
            )
        ).tuples()
    }
    found = []
    for c in conversations:
        handoff, agent = handoffs.get(c.id) or (None, None)
        score = scores.get(handoff.id) if handoff else None
        found.append(
            {
                "id": c.id,
                "key": c.key,
                "channel": c.channel,
                "customer_id": c.customer_id,
                "started": _iso(c.created_at),
                "updated": _iso(c.updated_at),
                "first_message": (first.get(c.id) or "")[:300],
                "handoff_id": handoff.id if handoff else None,
                "handoffs": counts.get(c.id, 0),
                "status": handoff.status if handoff else None,
                "reason": handoff.reason if handoff else None,
                "agent": agent,
                "rating": score,
                "resolution_note": handoff.resolution_note if handoff else None,
                "outcome": _outcome(handoff.status if handoff else None, agent, score),
            }
        )
    return found


class CustomerProfiles:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _check_id(customer_id: int) -> None:
        if not 1 <= customer_id <= MAX_ID:
            raise ProfileError(f"no customer {customer_id}", 404)

    async def _row(self, s: AsyncSession, customer_id: int) -> Customer:
        self._check_id(customer_id)
        row = await s.get(Customer, customer_id)
        if row is None:
            raise ProfileError(f"no customer {customer_id}", 404)
        return row

    async def profile(self, customer_id: int) -> dict[str, Any]:
        """The whole profile the customer row belongs to (its root's, if it was merged)."""
        async with self.db.session() as s:
            asked = await self._row(s, customer_id)
            root = await root_of(s, asked)
            members = await members_of(s, root)
            ids = [m.id for m in members]
            conversations = await conversations_of(s, ids)
            notes = await self._notes(s, ids)
            merges = await self._merges(s, ids)
        # the root's own values first, then what merged rows add (older rows first)
        attributes: dict[str, str] = {}
        for member in reversed(members):
            attributes.update(member.attributes or {})
        verified = next((m for m in members if m.verified_id), None)
        named = next((m for m in members if m.display_name), None)
        mailed = next((m for m in ([verified] if verified else []) + members if m.email), None)
        return {
            "id": root.id,
            "asked_id": asked.id,
            "name": named.display_name if named else None,
            "email": mailed.email if mailed else None,
            "verified": verified.verified_id if verified else None,
            "channels": sorted({m.channel for m in members}),
            "first_seen": min((_iso(m.first_seen) or "") for m in members) or None,
            "attributes": attributes,
            "profiles": [_row_json(m) for m in members],
            "conversations": conversations,
            "notes": notes,
            "merges": merges,
        }

    async def profile_for_conversation(self, conversation_id: int) -> dict[str, Any] | None:
        async with self.db.session() as s:
            conversation = await s.get(Conversation, conversation_id)
        if conversation is None:
            return None
        return await self.profile(conversation.customer_id)

    @staticmethod
    async def _notes(s: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
        rows = await s.execute(
            select(CustomerNote, Agent)
            .join(Agent, Agent.id == CustomerNote.agent_id)
            .where(CustomerNote.customer_id.in_(ids))
            .order_by(CustomerNote.id)
        )
        return [
            {
                "id": n.id,
                "customer_id": n.customer_id,
                "agent": a.display_name,
                "text": n.text,
                "at": _iso(n.created_at),
            }
            for n, a in rows.tuples()
        ]

    @staticmethod
    async def _merges(s: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
        """The merges in force inside this profile, newest first."""
        rows = await s.execute(
            select(CustomerMerge, Agent, Customer)
            .join(Agent, Agent.id == CustomerMerge.agent_id)
            .join(Customer, Customer.id == CustomerMerge.merged_id)
            .where(CustomerMerge.survivor_id.in_(ids), CustomerMerge.undone_at.is_(None))
            .order_by(CustomerMerge.id.desc())
        )
        return [
            {
                "id": m.id,
                "survivor_id": m.survivor_id,
                "merged_id": m.merged_id,
                "merged": _row_json(c),
                "agent": a.display_name,
                "at": _iso(m.created_at),
            }
            for m, a, c in rows.tuples()
        ]

    async def add_note(self, customer_id: int, agent: Agent, text: str) -> dict[str, Any]:
        """A note on the profile the row belongs to (kept on its root)."""
        text = text.strip()
        if not text or len(text) > MAX_NOTE:
            raise ProfileError(f"a note is 1-{MAX_NOTE} characters")
        if "\x00" in text:
            raise ProfileError("a note cannot contain a NUL character")
        async with self.db.session() as s:
            root = await root_of(s, await self._row(s, customer_id))
            note = CustomerNote(customer_id=root.id, agent_id=agent.id, text=text)
            s.add(note)
            await s.commit()
            return {
                "id": note.id,
                "customer_id": root.id,
                "agent": agent.display_name,
                "text": note.text,
                "at": _iso(note.created_at),
            }

    async def search(self, q: str, limit: int = 20) -> list[dict[str, Any]]:
        """Customer rows whose name, e-mail, verified id or external id contains `q`
        (case-insensitive, wildcards literal), or whose id is `q` (also "#12")."""
        q = q.strip()
        if not q:
            return []
        pattern = like_pattern(q)
        matches: list[ColumnElement[bool]] = [
            column.ilike(pattern, escape="\\")
            for column in (
                Customer.display_name,
                Customer.email,
                Customer.verified_id,
                Customer.external_id,
            )
        ]
        number = q.lstrip("#")
        if number.isdigit() and 1 <= int(number) <= MAX_ID:
            matches.append(Customer.id == int(number))
        async with self.db.session() as s:
            rows = list(
                (
                    await s.execute(
                        select(Customer).where(or_(*matches)).order_by(Customer.id).limit(limit)
                    )
                ).scalars()
            )
            found = []
            for row in rows:
                item = _row_json(row)
                item["root_id"] = (await root_of(s, row)).id
                found.append(item)
        return found
