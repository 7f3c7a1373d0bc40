"""Queries the hub needs; the only module that writes rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot.console.customers import absorb
from bot.messages import IncomingMessage, OutgoingMessage
from bot.storage.db import Database
from bot.storage.models import Conversation, Customer, Gap, Message, utcnow


@dataclass(frozen=True)
class Stored:
    conversation: Conversation
    message: Message
    created: bool  # False when the vendor id was seen before (a retried delivery)


def _tells_about(msg: IncomingMessage) -> bool:
    """Whether the message says anything about its sender beyond their id."""
    who = msg.customer
    return bool(who.display_name or who.email or who.attributes)


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _customer(self, msg: IncomingMessage) -> Customer:
        """The customer row of the message's sender, with what the channel says about them
        (name, e-mail, the shop's attributes) taken in: bot/console/customers.py `absorb`."""
        async with self.db.session() as s:
            query = select(Customer).where(
                Customer.channel == msg.channel, Customer.external_id == msg.customer.external_id
            )
            found = (await s.execute(query)).scalar_one_or_none()
            if found:
                if absorb(found, msg.customer):
                    await s.commit()
                return found
            customer = Customer(
                channel=msg.channel,
                external_id=msg.customer.external_id,
                language=msg.customer.language or msg.language,
            )
            absorb(customer, msg.customer)
            s.add(customer)
            try:
                await s.commit()
                return customer
            except IntegrityError:  # created concurrently
                await s.rollback()
                found = (await s.execute(query)).scalar_one()
                if absorb(found, msg.customer):
                    await s.commit()
                return found

    async def conversation_for(self, msg: IncomingMessage) -> Conversation:
        query = select(Conversation).where(Conversation.key == msg.conversation_key)
        async with self.db.session() as s:
            found = (await s.execute(query)).scalar_one_or_none()
            if found:
                # the channel's language is a first guess; after that the router decides
                if msg.language and not found.language:
                    found.language = msg.language
                    await s.commit()
                if _tells_about(msg):  # a later message may bring an e-mail or a new page
                    customer = await s.get(Customer, found.customer_id)
                    if customer is not None and absorb(customer, msg.customer):
                        await s.commit()
                return found
        customer = await self._customer(msg)
        async with self.db.session() as s:
            conversation = Conversation(
                key=msg.conversation_key,
                channel=msg.channel,
                chat_id=msg.chat_id,
                customer_id=customer.id,
                language=msg.language,
                state="bot",
            )
            s.add(conversation)
            try:
                await s.commit()
                return conversation
            except IntegrityError:
                await s.rollback()
                return (await s.execute(query)).scalar_one()

    async def store_incoming(
        self, msg: IncomingMessage, status: str = "received", max_chars: int | None = None
    ) -> Stored:
        """Store a customer's message before anything else happens to it (idempotent). A text
        over `max_chars` is stored cut to that length, with its original length."""
        too_long = max_chars is not None and len(msg.text) > max_chars
        conversation = await self.conversation_for(msg)
        async with self.db.session() as s:
            if msg.vendor_message_id:
                existing = (
                    await s.execute(
                        select(Message).where(
                            Message.conversation_id == conversation.id,
                            Message.vendor_message_id == msg.vendor_message_id,
                        )
                    )
                ).scalar_one_or_none()
                if existing:
                    return Stored(conversation, existing, created=False)
            message = Message(
                conversation_id=conversation.id,
                direction="in",
                sender="customer",
                text=msg.text[:max_chars] if too_long else msg.text,
                length=len(msg.text) if too_long else None,
                vendor_message_id=msg.vendor_message_id,
                status=status,
            )
            s.add(message)
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                existing = (
                    await s.execute(
                        select(Message).where(
                            Message.conversation_id == conversation.id,
                            Message.vendor_message_id == msg.vendor_message_id,
                        )
                    )
                ).scalar_one()
                return Stored(conversation, existing, created=False)
            return Stored(conversation, message, created=True)

    async def store_outgoing(
        self,
        conversation_id: int,
        replies: list[OutgoingMessage],
        answered: tuple[int, str] | None = None,
    ) -> list[Message]:
        """Store the replies; `answered` = (customer message id, its new status) sets that status
        in the same transaction, so a hub dying in between never leaves a message marked
        answered without its answer."""
        async with self.db.session() as s:
            rows = []
            for reply in replies:
                payload: dict[str, Any] = {"buttons": [b.to_dict() for b in reply.buttons]}
                if reply.custom:
                    payload["custom"] = reply.custom
                rows.append(
                    Message(
                        conversation_id=conversation_id,
                        direction="out",
                        sender=reply.sender,
                        text=reply.text,
                        payload=payload,
                        status="sent",
                    )
                )
            s.add_all(rows)
            if answered is not None:
                message_id, status = answered
                await s.execute(
                    update(Message).where(Message.id == message_id).values(status=status)
                )
            conversation = await s.get(Conversation, conversation_id)
            if conversation:
                conversation.updated_at = utcnow()
            await s.commit()
            return rows

    async def replies_to(self, message: Message) -> list[OutgoingMessage]:
        """What was sent after a customer's message and before their next one (the answer a
        customer missed when a response was lost: they send it again, they get it again)."""
        async with self.db.session() as s:
            following = select(func.min(Message.id)).where(
                Message.conversation_id == message.conversation_id,
                Message.direction == "in",
                Message.id > message.id,
            )
            rows = (
                await s.execute(
                    select(Message)
                    .where(
                        Message.conversation_id == message.conversation_id,
                        Message.direction == "out",
                        Message.id > message.id,
                        Message.id < func.coalesce(following.scalar_subquery(), 2**62),
                    )
                    .order_by(Message.id)
                )
            ).scalars()
            return [
                OutgoingMessage.from_dict({**(m.payload or {}), "text": m.text, "sender": m.sender})
                for m in rows
            ]

    async def set_status(self, message_id: int, status: str) -> None:
        async with self.db.session() as s:
            message = await s.get(Message, message_id)
            if message:
                message.status = status
                await s.commit()

    async def mark_sent(self, message_id: int, at: datetime | None) -> None:
        """When the message was sent to Rasa (None: it surely never reached Rasa)."""
        async with self.db.session() as s:
            await s.execute(update(Message).where(Message.id == message_id).values(rasa_sent_at=at))
            await s.commit()

    async def message(self, message_id: int) -> Message | None:
        async with self.db.session() as s:
            return await s.get(Message, message_id)

    async def unanswered(
        self, older_than: timedelta, limit: int = 100
    ) -> list[tuple[Conversation, Message]]:
        """Customer messages stored but never handled (the hub died or the database failed
        after storing them), oldest first."""
        async with self.db.session() as s:
            rows = await s.execute(
                select(Conversation, Message)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(
                    Message.status == "received",
                    Message.direction == "in",
                    Message.created_at < utcnow() - older_than,
                )
                .order_by(Message.id)
                .limit(limit)
            )
            return [(c, m) for c, m in rows.tuples()]

    async def annotate(
        self,
        message_id: int,
        intent: str | None,
        confidence: float | None,
        kb: dict[str, Any] | None = None,
        frustration: float | None = None,
        signals: list[str] | None = None,
    ) -> None:
        """Record what the bot understood and tried for a customer message."""
        async with self.db.session() as s:
            message = await s.get(Message, message_id)
            if message:
                message.intent = intent
                message.intent_confidence = confidence
                message.kb = kb
                message.frustration = frustration
                message.signals = signals
                await s.commit()

    async def update_conversation(self, conversation_id: int, **values: Any) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(**values)
            )
            await s.commit()

    async def conversation(self, key: str) -> Conversation | None:
        async with self.db.session() as s:
            return (
                await s.execute(select(Conversation).where(Conversation.key == key))
            ).scalar_one_or_none()

    async def transcript(self, key: str) -> list[Message]:
        async with self.db.session() as s:
            rows = await s.execute(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.key == key)
                .order_by(Message.id)
            )
            return list(rows.scalars())

    async def transcript_page(
        self, key: str, before: int | None = None, limit: int = 50
    ) -> tuple[list[Message], bool]:
        """At most `limit` messages before message id `before` (or the latest), oldest first,
        and whether there are older ones."""
        query = (
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.key == key)
        )
        if before is not None:
            query = query.where(Message.id < before)
        async with self.db.session() as s:
            rows = list(
                (await s.execute(query.order_by(Message.id.desc()).limit(limit + 1))).scalars()
            )
        return list(reversed(rows[:limit])), len(rows) > limit

    async def earlier_customer_messages(
        self, conversation_id: int, before_id: int, limit: int = 20
    ) -> list[Message]:
        """The customer's processed messages before `before_id`, oldest first (at most `limit`)."""
        async with self.db.session() as s:
            rows = await s.execute(
                select(Message)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == "in",
                    Message.id < before_id,
                    Message.status != "rejected",
                )
                .order_by(Message.id.desc())
                .limit(limit)
            )
            return list(reversed(list(rows.scalars())))

    async def pending(self, limit: int = 100) -> list[tuple[Conversation, Message]]:
        """Customer messages that could not reach Rasa yet, oldest first."""
        async with self.db.session() as s:
            rows = await s.execute(
                select(Conversation, Message)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.status == "pending")
                .order_by(Message.id)
                .limit(limit)
            )
            return [(c, m) for c, m in rows.tuples()]

    async def log_gap(
        self,
        question: str,
        conversation_key: str | None,
        language: str | None,
        candidates: list[dict[str, Any]],
        reason: str = "unknown",
    ) -> Gap:
        async with self.db.session() as s:
            gap = Gap(
                question=question,
                conversation_key=conversation_key,
                language=language,
                candidates=candidates,
                reason=reason,
            )
            s.add(gap)
            await s.commit()
            return gap

    async def gaps(self, limit: int = 50) -> list[Gap]:
        async with self.db.session() as s:
            rows = await s.execute(select(Gap).order_by(Gap.id.desc()).limit(limit))
            return list(rows.scalars())

    async def counts(self) -> dict[str, int]:
        async with self.db.session() as s:
            result = {}
            for name, model in (("conversations", Conversation), ("messages", Message)):
                result[name] = (
                    await s.execute(select(func.count()).select_from(model))
                ).scalar_one()
            return result
