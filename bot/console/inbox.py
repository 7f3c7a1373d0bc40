"""The agents' inbox: handoffs by view (mine, unassigned, all open, resolved), searched over
their transcripts and notes, filtered by label, a page at a time, with the count of every view;
and the labels on conversations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Integer, String, and_, delete, func, or_, select
from sqlalchemy import DateTime as SaDateTime
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.handoff.context import HandoffViews, _with_people
from bot.storage.db import Database
from bot.storage.models import Base, Conversation, Handoff, Message, Note, Rating, utcnow

VIEWS = ("mine", "unassigned", "open", "resolved")
DEFAULT_VIEW = "open"  # what the queue always showed: every handoff still open
PAGE = 50
MAX_PAGE = 200
LABEL = re.compile(r"^[\w][\w .:/+-]{0,31}$")  # letters of any script, digits, a few marks
MAX_LABELS = 20  # per conversation


class ConversationLabel(Base):
    """A label an agent put on a conversation (lower case, unique per conversation)."""

    __tablename__ = "conversation_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    label: Mapped[str] = mapped_column(String(32), index=True)
    added_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(SaDateTime(timezone=True), default=utcnow)


class LabelError(ValueError):
    """A label that cannot be used (the message says why)."""


def clean_label(raw: str) -> str:
    label = " ".join(raw.split()).lower()
    if not LABEL.match(label):
        raise LabelError(
            "a label is 1-32 characters: letters, digits, spaces and . : / + - _ "
            "(starting with a letter or digit)"
        )
    return label


def like_pattern(text: str) -> str:
    """`text` anywhere, with LIKE's wildcards taken literally (escape character: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class InboxQuery:
    view: str = DEFAULT_VIEW
    q: str = ""
    label: str = ""
    offset: int = 0
    limit: int = PAGE


class Inbox:
    def __init__(self, db: Database, views: HandoffViews) -> None:
        self.db = db
        self.views = views

    def _view(self, view: str, agent_id: int) -> ColumnElement[bool]:
        if view == "mine":
            return and_(Handoff.status == "claimed", Handoff.agent_id == agent_id)
        if view == "unassigned":
            return Handoff.status == "queued"
        if view == "resolved":
            return Handoff.status == "resolved"
        return Handoff.status.in_(("queued", "claimed"))

    @staticmethod
    def _filters(q: str, label: str) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if q:
            pattern = like_pattern(q)
            said = select(Message.id).where(
                Message.conversation_id == Handoff.conversation_id,
                Message.text.ilike(pattern, escape="\\"),
            )
            noted = select(Note.id).where(
                Note.conversation_id == Handoff.conversation_id,
                Note.text.ilike(pattern, escape="\\"),
            )
            found.append(or_(said.exists(), noted.exists()))
        if label:
            labelled = select(ConversationLabel.id).where(
                ConversationLabel.conversation_id == Handoff.conversation_id,
                ConversationLabel.label == label,
            )
            found.append(labelled.exists())
        return found

    async def page(self, query: InboxQuery, agent_id: int) -> dict[str, Any]:
        """One page of a view, with `counts` of every view under the same search and label."""
        filters = self._filters(query.q, query.label)
        now = utcnow()
        async with self.db.session() as s:
            counts = {}
            for view in VIEWS:
                counted = select(func.count()).select_from(Handoff)
                counted = counted.where(self._view(view, agent_id), *filters)
                counts[view] = int((await s.execute(counted)).scalar_one())
            base = _with_people().where(self._view(query.view, agent_id), *filters)
            if query.view == "resolved":  # the latest first, paged in the database
                paged = base.order_by(Handoff.resolved_at.desc(), Handoff.id.desc())
                rows = list(
                    (await s.execute(paged.offset(query.offset).limit(query.limit))).tuples()
                )
                items = [self.views.row(*row, last_message="", now=now) for row in rows]
            else:  # open ones: sorted by priority, which changes with the waiting time
                every = [self.views.row(*r, "", now) for r in (await s.execute(base)).tuples()]
                every.sort(key=lambda h: (-h["priority"], -h["waiting_seconds"]))
                items = every[query.offset : query.offset + query.limit]
            ids = [item["id"] for item in items]
            await self._decorate(s, items, ids)
        total = counts[query.view]
        following = query.offset + len(items)
        return {
            "view": query.view,
            "handoffs": items,
            "counts": counts,
            "total": total,
            "next_offset": following if following < total else None,
        }

    async def _decorate(self, s: Any, items: list[dict[str, Any]], ids: list[int]) -> None:
        """The last customer message, the labels and (resolved ones) the rating of each item."""
        if not ids:
            return
        conversations = {
            h_id: c_id
            for h_id, c_id in (
                await s.execute(
                    select(Handoff.id, Handoff.conversation_id).where(Handoff.id.in_(ids))
                )
            ).tuples()
        }
        labels: dict[int, list[str]] = {}
        rows = await s.execute(
            select(ConversationLabel.conversation_id, ConversationLabel.label)
            .where(ConversationLabel.conversation_id.in_(set(conversations.values())))
            .order_by(ConversationLabel.label)
        )
        for c_id, label in rows.tuples():
            labels.setdefault(c_id, []).append(label)
        ratings: dict[int, dict[str, Any]] = {}
        rated = await s.execute(
            select(Rating)
            .where(Rating.handoff_id.in_(ids), Rating.kind == "csat")
            .order_by(Rating.id)
        )
        for rating in rated.scalars():
            ratings[rating.handoff_id] = {"score": rating.score, "comment": rating.comment}
        for item in items:
            c_id = conversations[item["id"]]
            last = (
                await s.execute(
                    select(Message.text)
                    .where(Message.conversation_id == c_id, Message.direction == "in")
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            item["last_message"] = last or ""
            item["labels"] = labels.get(c_id, [])
            item["rating"] = ratings.get(item["id"])

    async def extras(self, handoff_id: int) -> dict[str, Any]:
        """A handoff's `labels` and its customer's `rating` ({score, comment} or None)."""
        item: dict[str, Any] = {"id": handoff_id}
        async with self.db.session() as s:
            if await self._conversation(s, handoff_id) is None:
                return {"labels": [], "rating": None}
            await self._decorate(s, [item], [handoff_id])
        return {"labels": item["labels"], "rating": item["rating"]}

    async def add_label(self, handoff_id: int, label: str, username: str) -> list[str] | None:
        """The conversation's labels after adding `label` (None: no such handoff)."""
        async with self.db.session() as s:
            conversation_id = await self._conversation(s, handoff_id)
            if conversation_id is None:
                return None
            present = await self._labels(s, conversation_id)
            if label in present:
                return present
            if len(present) >= MAX_LABELS:
                raise LabelError(f"at most {MAX_LABELS} labels on a conversation")
            s.add(
                ConversationLabel(conversation_id=conversation_id, label=label, added_by=username)
            )
            try:
                await s.commit()
            except IntegrityError:  # added at the same moment by someone else
                await s.rollback()
            return await self._labels(s, conversation_id)

    async def remove_label(self, handoff_id: int, label: str) -> list[str] | None:
        async with self.db.session() as s:
            conversation_id = await self._conversation(s, handoff_id)
            if conversation_id is None:
                return None
            await s.execute(
                delete(ConversationLabel).where(
                    ConversationLabel.conversation_id == conversation_id,
                    ConversationLabel.label == label,
                )
            )
            await s.commit()
            return await self._labels(s, conversation_id)

    async def all_labels(self) -> list[dict[str, Any]]:
        """Every label in use, with the number of conversations carrying it."""
        async with self.db.session() as s:
            rows = await s.execute(
                select(ConversationLabel.label, func.count())
                .group_by(ConversationLabel.label)
                .order_by(ConversationLabel.label)
            )
            return [{"label": label, "conversations": int(n)} for label, n in rows.tuples()]

    @staticmethod
    async def _conversation(s: Any, handoff_id: int) -> int | None:
        found = await s.execute(
            select(Conversation.id)
            .join(Handoff, Handoff.conversation_id == Conversation.id)
            .where(Handoff.id == handoff_id)
        )
        value: int | None = found.scalar_one_or_none()
        return value

    @staticmethod
    async def _labels(s: Any, conversation_id: int) -> list[str]:
        rows = await s.execute(
            select(ConversationLabel.label)
            .where(ConversationLabel.conversation_id == conversation_id)
            .order_by(ConversationLabel.label)
        )
        return list(rows.scalars())
