"""Which turns of a conversation are knowledge gaps, read back from the stored messages.

Each customer message carries what the knowledge base tried for it (`Message.kb`: decision,
article, candidates, the articles offered in a clarify), so the last KB outcome of a
conversation is its newest customer message with one. From it:

- `clarify` not followed by a pick: decided when the next customer turn arrives (`settle`) or
  a handoff starts; a pick of an offered button is not a gap (the article then answers);
- a handoff after an answer (`handoff_after_answer`, the answered question and its article) or
  instead of one (`handoff`, the customer's last question), from the handoff's `queued` event;
- a low rating (<= 2) after a handoff (`low_rating`, the conversation's first problem).

`unknown` and "that didn't help" are logged by the actions themselves, through `GapBook`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from bot.cluster.events import Event
from bot.knowledge.gaps import GapBook
from bot.storage.models import Conversation, Handoff, Message
from knowledge_base.normalize import latin_to_cyrillic

log = logging.getLogger(__name__)

# "survey": an answer to a satisfaction survey (a rating, a comment), set by
# bot/conversation/surveys.py
NOT_QUESTIONS = {"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "survey"}
NO_GAP_HANDOFFS = {"policy", "bot_error"}  # the article says so; Rasa was down
LOW_RATING = 2
RECENT = 20  # customer messages looked at


def kb_outcome(message: Message) -> dict[str, Any]:
    """The knowledge-base outcome a stored bot reply carries ({} for any other message)."""
    kb = message.kb
    return kb if isinstance(kb, dict) and kb.get("decision") else {}


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


class GapSignals:
    def __init__(self, book: GapBook) -> None:
        self.book = book
        self.db = book.db

    async def _customer_messages(
        self, conversation_key: str, newest_first: bool = True, limit: int = RECENT
    ) -> list[Message]:
        order = Message.id.desc() if newest_first else Message.id
        async with self.db.session() as s:
            rows = await s.execute(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Conversation.key == conversation_key,
                    Message.direction == "in",
                    Message.status != "rejected",
                )
                .order_by(order)
                .limit(limit)
            )
            return list(rows.scalars())

    async def last_outcome(
        self, conversation_key: str, before: int | None = None
    ) -> Message | None:
        """The newest customer message the knowledge base tried to answer (before message id
        `before`, if given)."""
        for message in await self._customer_messages(conversation_key):
            if before is not None and message.id >= before:
                continue
            if kb_outcome(message):
                return message
        return None

    async def settle(
        self, conversation_key: str, message_id: int | None, text: str
    ) -> dict[str, Any] | None:
        """A new customer turn: if the previous KB outcome was a clarify, this turn either
        picks one of its buttons (returns that candidate) or leaves it unresolved (a
        `clarify` gap)."""
        previous = await self.last_outcome(conversation_key, before=message_id)
        if previous is None or kb_outcome(previous).get("decision") != "clarify":
            return None
        kb = kb_outcome(previous)
        offered = set(kb.get("offered") or [])
        said = _fold(text)
        for candidate in kb.get("candidates") or []:
            if offered and candidate.get("id") not in offered:
                continue
            title = str(candidate.get("title") or "")
            if title and said in (_fold(title), _fold(latin_to_cyrillic(title))):
                return dict(candidate)
        await self._clarify_gap(conversation_key, previous)
        return None

    async def _clarify_gap(self, conversation_key: str, message: Message) -> None:
        kb = kb_outcome(message)
        await self.book.record(
            message.text,
            conversation_key,
            await self._language(conversation_key),
            "clarify",
            kb.get("candidates") or [],
            message_id=message.id,
        )

    async def _language(self, conversation_key: str) -> str | None:
        async with self.db.session() as s:
            return (
                await s.execute(
                    select(Conversation.language).where(Conversation.key == conversation_key)
                )
            ).scalar_one_or_none()

    async def on_handoff(self, event: Event) -> None:
        """On the bus (leader only): a queued handoff may make the last question a gap."""
        if event.kind != "handoff_queued" or event.handoff_id is None:
            return
        async with self.db.session() as s:
            handoff = await s.get(Handoff, event.handoff_id)
            conversation = await s.get(Conversation, handoff.conversation_id) if handoff else None
        if handoff is None or conversation is None or handoff.reason in NO_GAP_HANDOFFS:
            return
        key, language = conversation.key, conversation.language
        last = await self.last_outcome(key)
        kb = kb_outcome(last) if last else {}
        if last is not None and kb.get("decision") == "answer":
            if await self.book.logged_for(last.id):
                return  # e.g. "that didn't help" came first
            article = kb.get("article")
            await self.book.record(
                last.text,
                key,
                language,
                "handoff_after_answer",
                kb.get("candidates") or [],
                message_id=last.id,
                article_id=article,
            )
            if article:
                await self.book.used(article, language, "handoff", key, last.id)
            return
        if last is not None and kb.get("decision") == "clarify":
            await self._clarify_gap(key, last)
            return
        if last is not None and kb.get("decision") == "unknown":
            return  # logged as `unknown` when it was asked
        question = await self._last_question(key)
        if question is not None:
            await self.book.record(
                question.text, key, language, "handoff", [], message_id=question.id
            )

    async def _last_question(self, conversation_key: str) -> Message | None:
        """The customer's newest message that states something (not small talk, and not a
        bare "a person, please")."""
        for message in await self._customer_messages(conversation_key):
            if message.intent in NOT_QUESTIONS or message.text.startswith("/"):
                continue
            if message.intent == "ask_human" and len(message.text.split()) < 5:
                continue
            return message
        return None

    async def on_rating(self, conversation: Conversation, score: int) -> None:
        """A low rating after a handoff: the conversation's first problem statement."""
        if score > LOW_RATING:
            return
        messages = await self._customer_messages(conversation.key, newest_first=False)
        first = next((m for m in messages if kb_outcome(m)), None) or next(
            (m for m in messages if m.intent not in NOT_QUESTIONS and len(m.text.split()) >= 3),
            None,
        )
        if first is None:
            return
        await self.book.record(
            first.text,
            conversation.key,
            conversation.language,
            "low_rating",
            kb_outcome(first).get("candidates") or [],
            message_id=first.id,
        )
