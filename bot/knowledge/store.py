"""The writers' rows: article drafts (built from what an agent answered in a resolved handoff)
and the history of article saves. The articles themselves live in Markdown files."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.language import base
from bot.storage.db import Database
from bot.storage.models import ArticleChange, ArticleDraft, Conversation, Handoff, Message, utcnow
from knowledge_base.normalize import cyrillic_to_latin

# customer messages that are not questions about the shop: asking for a person, greetings...
NOT_QUESTIONS = frozenset(
    {
        "ask_human",
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "bot_challenge",
        "complain",
        "survey",  # an answer to a satisfaction survey (bot/conversation/surveys.py)
    }
)
MAX_QUESTIONS = 20
FIELDS = ("title", "questions", "body", "handoff", "tags")


class DraftError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Snapshot:
    """What a save compares: an article's editable fields."""

    title: str
    questions: tuple[str, ...]
    body: str
    handoff: str
    tags: tuple[str, ...]


def slug(text: str, fallback: str) -> str:
    """An article id from a question: 'Can I pay with PayPal?' -> 'can-i-pay-with-paypal'."""
    latin = unicodedata.normalize("NFKD", cyrillic_to_latin(text))
    ascii_text = latin.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)[:7]
    made = "-".join(words)[:60].strip("-")
    return made if len(made) >= 3 else fallback


def changes(before: Snapshot | None, after: Snapshot) -> tuple[list[str], str]:
    """The changed fields and a one-line summary for the history."""
    if before is None:
        return list(FIELDS), f"created with {len(after.questions)} example questions"
    changed = [name for name in FIELDS if getattr(before, name) != getattr(after, name)]
    parts = []
    for name in changed:
        if name == "questions":
            added = len(set(after.questions) - set(before.questions))
            removed = len(set(before.questions) - set(after.questions))
            parts.append(f"questions (+{added} -{removed})")
        elif name == "handoff":
            parts.append(f"handoff {before.handoff} -> {after.handoff}")
        else:
            parts.append(name)
    return changed, ", ".join(parts) or "saved unchanged"


def draft_json(draft: ArticleDraft) -> dict[str, Any]:
    return {
        "id": draft.id,
        "handoff_id": draft.handoff_id,
        "language": draft.language,
        "article_id": draft.article_id,
        "title": draft.title,
        "questions": list(draft.questions or []),
        "body": draft.body,
        "status": draft.status,
        "created_by": draft.created_by,
        "created_at": draft.created_at.isoformat(),
        "published_as": draft.published_as,
        "published_at": draft.published_at.isoformat() if draft.published_at else None,
    }


def change_json(change: ArticleChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "article_id": change.article_id,
        "language": change.language,
        "action": change.action,
        "author": change.author,
        "fields": list(change.fields or []),
        "summary": change.summary,
        "at": change.created_at.isoformat(),
    }


class KnowledgeStore:
    def __init__(self, db: Database, default_language: str = "en") -> None:
        self.db = db
        self.default_language = default_language

    # ---------------------------------------------------------------- drafts

    async def draft_from_handoff(
        self, handoff_id: int, author: str, languages: frozenset[str]
    ) -> tuple[ArticleDraft, bool]:
        """The draft of a resolved handoff (made once; later calls return it, created=False):
        the customer's questions in that stretch of the conversation become the example
        questions, the agent's replies the body, the conversation's language the language."""
        async with self.db.session() as s:
            existing = await s.scalar(
                select(ArticleDraft).where(ArticleDraft.handoff_id == handoff_id)
            )
            if existing is not None:
                return existing, False
            handoff = await s.get(Handoff, handoff_id)
            if handoff is None:
                raise DraftError(f"no handoff {handoff_id}", 404)
            if handoff.status != "resolved":
                raise DraftError("only a resolved handoff can become a draft", 409)
            conversation = await s.get(Conversation, handoff.conversation_id)
            assert conversation is not None  # a foreign key
            # from the end of the conversation's previous handoff to this one's resolution
            previous = await s.scalar(
                select(Handoff.resolved_at)
                .where(
                    Handoff.conversation_id == handoff.conversation_id,
                    Handoff.id < handoff.id,
                    Handoff.resolved_at.is_not(None),
                )
                .order_by(Handoff.id.desc())
                .limit(1)
            )
            query = select(Message).where(Message.conversation_id == conversation.id)
            if previous is not None:
                query = query.where(Message.created_at > previous)
            if handoff.resolved_at is not None:
                query = query.where(Message.created_at <= handoff.resolved_at)
            messages = list((await s.execute(query.order_by(Message.id))).scalars())
        questions = customer_questions(messages)
        replies = [m.text.strip() for m in messages if m.sender == "agent" and m.text.strip()]
        if not questions and not replies:
            raise DraftError("this conversation has no customer question or agent reply", 409)
        language = base(conversation.language or self.default_language)
        if language not in languages:
            language = self.default_language
        first = questions[0] if questions else ""
        draft = ArticleDraft(
            handoff_id=handoff_id,
            language=language,
            article_id=slug(first, f"draft-{handoff_id}"),
            title=(first[:1].upper() + first[1:120]).rstrip(" ?!.") if first else "",
            questions=questions,
            body="\n\n".join(replies),
            status="open",
            created_by=author,
        )
        async with self.db.session() as s:
            s.add(draft)
            try:
                await s.commit()
            except IntegrityError:  # made concurrently
                await s.rollback()
                found = await s.scalar(
                    select(ArticleDraft).where(ArticleDraft.handoff_id == handoff_id)
                )
                assert found is not None
                return found, False
        return draft, True

    async def drafts(self, status: str | None = "open") -> list[ArticleDraft]:
        query = select(ArticleDraft).order_by(ArticleDraft.id.desc()).limit(500)
        if status:
            query = query.where(ArticleDraft.status == status)
        async with self.db.session() as s:
            return list((await s.execute(query)).scalars())

    async def draft(self, draft_id: int) -> ArticleDraft | None:
        async with self.db.session() as s:
            return await s.get(ArticleDraft, draft_id)

    async def delete_draft(self, draft_id: int) -> bool:
        async with self.db.session() as s:
            result = await s.execute(delete(ArticleDraft).where(ArticleDraft.id == draft_id))
            await s.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_published(self, draft_id: int, language: str, article_id: str) -> bool:
        async with self.db.session() as s:
            draft = await s.get(ArticleDraft, draft_id)
            if draft is None:
                return False
            draft.status = "published"
            draft.published_as = f"{language}/{article_id}"
            draft.published_at = utcnow()
            await s.commit()
        return True

    # ---------------------------------------------------------------- history

    async def record(
        self,
        article_id: str,
        language: str,
        author: str,
        before: Snapshot | None,
        after: Snapshot,
    ) -> ArticleChange:
        fields, summary = changes(before, after)
        change = ArticleChange(
            article_id=article_id,
            language=language,
            action="created" if before is None else "replaced",
            author=author,
            fields=fields,
            summary=summary,
        )
        async with self.db.session() as s:
            s.add(change)
            await s.commit()
        return change

    async def history(
        self, article_id: str | None = None, language: str | None = None, limit: int = 200
    ) -> list[ArticleChange]:
        query = select(ArticleChange).order_by(ArticleChange.id.desc()).limit(limit)
        if article_id:
            query = query.where(ArticleChange.article_id == article_id)
        if language:
            query = query.where(ArticleChange.language == language)
        async with self.db.session() as s:
            return list((await s.execute(query)).scalars())


def customer_questions(messages: list[Message]) -> list[str]:
    """What the customer asked: their messages but greetings, thanks, requests for a person,
    ratings and button clicks; each once, at most MAX_QUESTIONS."""
    seen: set[str] = set()
    questions = []
    for m in messages:
        text = " ".join((m.text or "").split())
        if m.sender != "customer" or m.direction != "in" or len(text) < 4:
            continue
        if (m.intent or "") in NOT_QUESTIONS or text.startswith("/") or text.isdigit():
            continue
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        questions.append(text[:500])
    return questions[:MAX_QUESTIONS]
