"""A scripted month of support for the reports' tests: conversations with known timestamps,
seeded through the storage models (November 2026, UTC).

    c1  web/en      11-10 09:00  answered (reset-password), "did it answer?" yes      contained
    c2  web/en      11-10 10:00  clarify, then the customer picks track-order         contained
    c3  telegram/en 11-11 08:00  unknown (gap cluster "ship to mars"), asks for a person:
                                 handoff requested, alice claims after 2 min, first reply
                                 after 3 min, resolved after 10 min; CSAT 2 "=1+1 slow..."
    c4  telegram/fa 11-12 12:00  answered (reset-password), "that didn't help" (not_helpful
                                 gap), handoff frustration: bob 10 / 12 / 40 min; CSAT 5
    c5  web/en      11-13 14:00  answered (refund-policy), "did it answer?" no, "@wrong article"
    c6  web/en      11-14 09:00  answered (billing-disputes), handoff policy: alice 1 / 2 /
                                 20 min, resolved without survey
    c7  slack/en    11-15 10:00  "hello", a person please: handoff requested, still queued
    c8  web/en      11-13 09:00  customer of c1 again, 3 days later, reset-password: a repeat
    c9  web/en      11-18 10:30  customer of c2 again, 8 days later, track-order: no repeat
    c10 web/en      11-16 11:00  bot_error handoff withdrawn (not counted), then answered
    c13 web/de      11-20 08:00  one message, the bot never replied
    c14 slack/en    11-21 16:00  two unknowns (gap cluster "cancel"), handoff unanswered:
                                 bob claims after 5 min, first reply after 7 min, not resolved
    c11 web/en      10-31 23:59:59 and c12 web/en 12-01 00:00: outside November, with a
                                 handoff and a CSAT 1 that must not show up
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.console.auth import AgentDirectory
from bot.storage.db import Database
from bot.storage.models import (
    Agent,
    Conversation,
    Customer,
    Gap,
    GapCluster,
    Handoff,
    Message,
    Rating,
)

PASSWORD = "correct horse battery"
FROM, TO = "2026-11-01", "2026-11-30"


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def answer(article: str) -> dict[str, Any]:
    return {
        "decision": "answer",
        "article": article,
        "candidates": [{"id": article, "title": article.replace("-", " "), "score": 0.91}],
    }


UNKNOWN: dict[str, Any] = {"decision": "unknown", "article": None, "candidates": []}
CLARIFY: dict[str, Any] = {
    "decision": "clarify",
    "article": None,
    "candidates": [
        {"id": "track-order", "title": "Track your order", "score": 0.62},
        {"id": "shipping-times", "title": "Shipping times", "score": 0.6},
    ],
    "offered": ["track-order", "shipping-times"],
}


@dataclass
class Seeded:
    conversations: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    clusters: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)


class Seeder:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.seeded = Seeded()

    async def add(self, row: Any) -> Any:
        async with self.db.session() as s:
            s.add(row)
            await s.commit()
            return row

    async def customer(self, name: str, channel: str, language: str) -> int:
        if name not in self.seeded.customers:
            row = await self.add(
                Customer(channel=channel, external_id=name, language=language, first_seen=at(1, 0))
            )
            self.seeded.customers[name] = row.id
        return self.seeded.customers[name]

    async def conversation(
        self, name: str, customer: str, channel: str, language: str, created: datetime
    ) -> int:
        customer_id = await self.customer(customer, channel, language)
        row = await self.add(
            Conversation(
                key=f"{channel}:{name}",
                channel=channel,
                chat_id=name,
                customer_id=customer_id,
                language=language,
                created_at=created,
                updated_at=created,
            )
        )
        self.seeded.conversations[name] = row.id
        return int(row.id)

    async def says(
        self, conversation: str, text: str, when: datetime, kb: dict[str, Any] | None = None
    ) -> int:
        row = await self.add(
            Message(
                conversation_id=self.seeded.conversations[conversation],
                direction="in",
                sender="customer",
                text=text,
                kb=kb,
                status="processed",
                created_at=when,
            )
        )
        return int(row.id)

    async def replies(self, conversation: str, sender: str, text: str, when: datetime) -> None:
        await self.add(
            Message(
                conversation_id=self.seeded.conversations[conversation],
                direction="out",
                sender=sender,
                text=text,
                status="sent",
                created_at=when,
            )
        )

    async def handoff(
        self,
        conversation: str,
        reason: str,
        created: datetime,
        agent: str | None = None,
        claimed: datetime | None = None,
        resolved: datetime | None = None,
        status: str | None = None,
        survey_skipped: bool = False,
    ) -> int:
        row = await self.add(
            Handoff(
                conversation_id=self.seeded.conversations[conversation],
                reason=reason,
                status=status or ("resolved" if resolved else "claimed" if claimed else "queued"),
                agent_id=self.seeded.agents[agent] if agent else None,
                created_at=created,
                claimed_at=claimed,
                resolved_at=resolved,
                survey_skipped=survey_skipped,
            )
        )
        return int(row.id)

    async def rating(
        self,
        conversation: str,
        kind: str,
        score: int,
        when: datetime,
        handoff_id: int | None = None,
        comment: str | None = None,
        message_id: int | None = None,
        article_id: str | None = None,
    ) -> None:
        await self.add(
            Rating(
                conversation_id=self.seeded.conversations[conversation],
                handoff_id=handoff_id,
                kind=kind,
                score=score,
                comment=comment,
                message_id=message_id,
                article_id=article_id,
                created_at=when,
            )
        )

    async def cluster(self, name: str, question: str, status: str, last_seen: datetime) -> None:
        row = await self.add(
            GapCluster(
                language="en",
                status=status,
                count=0,
                question=question,
                centroid=b"\x00" * 16,
                model="test",
                first_seen=at(1, 0),
                last_seen=last_seen,
            )
        )
        self.seeded.clusters[name] = row.id

    async def gap(
        self,
        conversation: str,
        question: str,
        reason: str,
        when: datetime,
        message_id: int | None,
        cluster: str | None = None,
        article_id: str | None = None,
    ) -> None:
        await self.add(
            Gap(
                question=question,
                conversation_key=await self._key(conversation),
                language="en",
                reason=reason,
                candidates=[],
                created_at=when,
                message_id=message_id,
                article_id=article_id,
                cluster_id=self.seeded.clusters[cluster] if cluster else None,
            )
        )

    async def _key(self, conversation: str) -> str:
        async with self.db.session() as s:
            row = await s.get(Conversation, self.seeded.conversations[conversation])
            assert row is not None
            return row.key


async def seed(db: Database) -> Seeded:
    """The month described above, plus accounts: alice and bob (agents who work handoffs),
    sam (supervisor), root (admin), wendy (writer)."""
    directory = AgentDirectory(db)
    s = Seeder(db)
    for username, role, name in (
        ("alice", "agent", "Alice Agent"),
        ("bob", "agent", "Bob Builder"),
        ("sam", "supervisor", "Sam Supervisor"),
        ("root", "admin", "Root"),
        ("wendy", "writer", "Wendy Writer"),
    ):
        agent: Agent = await directory.create(username, PASSWORD, role=role, display_name=name)
        s.seeded.agents[username] = agent.id
    await s.cluster("mars", "do you ship to mars", "open", at(11, 8))
    await s.cluster("cancel", "cancel my subscription", "open", at(21, 16, 1))
    await s.cluster("dismissed", "what is the meaning of life", "dismissed", at(12, 0))

    await s.conversation("c1", "cu1", "web", "en", at(10, 9))
    await s.says("c1", "how do I reset my password", at(10, 9), answer("reset-password"))
    await s.replies("c1", "bot", "Reset your password: ...", at(10, 9, 0, 1))
    m1 = await s.says("c1", "/answer_yes", at(10, 9, 1))
    await s.rating("c1", "answer", 5, at(10, 9, 1), None, None, m1, "reset-password")

    await s.conversation("c2", "cu2", "web", "en", at(10, 10))
    await s.says("c2", "where is my parcel", at(10, 10), CLARIFY)
    await s.replies("c2", "bot", "Which one do you mean?", at(10, 10, 0, 1))
    await s.says("c2", "Track your order", at(10, 10, 1), answer("track-order"))
    await s.replies("c2", "bot", "Track your order: ...", at(10, 10, 1, 1))

    await s.conversation("c3", "cu3", "telegram", "en", at(11, 8))
    m3 = await s.says("c3", "do you ship to mars", at(11, 8), UNKNOWN)
    await s.gap("c3", "do you ship to mars", "unknown", at(11, 8), m3, "mars")
    await s.replies("c3", "bot", "Sorry, I don't know that yet.", at(11, 8, 0, 1))
    await s.says("c3", "I want a human", at(11, 8, 1))
    await s.replies("c3", "system", "An agent will be with you shortly.", at(11, 8, 1, 1))
    h1 = await s.handoff(
        "c3", "requested", at(11, 8, 1), "alice", at(11, 8, 3), resolved=at(11, 8, 11)
    )
    await s.replies("c3", "agent", "Hello, we only ship on Earth.", at(11, 8, 4))
    await s.says("c3", "ok thanks", at(11, 8, 5))
    await s.replies("c3", "agent", "Anything else?", at(11, 8, 6))
    await s.rating("c3", "csat", 2, at(11, 8, 12), h1, "=1+1 slow and unhelpful")

    await s.conversation("c4", "cu4", "telegram", "fa", at(12, 12))
    m4 = await s.says("c4", "رمز عبورم را فراموش کردم", at(12, 12), answer("reset-password"))
    await s.replies("c4", "bot", "بازنشانی رمز عبور: ...", at(12, 12, 0, 1))
    await s.says("c4", "کمکی نکرد", at(12, 12, 2))
    await s.gap(
        "c4", "رمز عبورم را فراموش کردم", "not_helpful", at(12, 12, 2), m4, None, "reset-password"
    )
    h2 = await s.handoff(
        "c4", "frustration", at(12, 12, 3), "bob", at(12, 12, 13), resolved=at(12, 12, 43)
    )
    await s.replies("c4", "agent", "سلام", at(12, 12, 15))
    await s.rating("c4", "csat", 5, at(12, 12, 44), h2)

    await s.conversation("c5", "cu5", "web", "en", at(13, 14))
    m5 = await s.says("c5", "refund my order", at(13, 14), answer("refund-policy"))
    await s.replies("c5", "bot", "Refunds: ...", at(13, 14, 0, 1))
    await s.rating("c5", "answer", 1, at(13, 14, 1), None, "@wrong article", m5, "refund-policy")

    await s.conversation("c6", "cu6", "web", "en", at(14, 9))
    await s.says("c6", "I want to dispute a charge", at(14, 9), answer("billing-disputes"))
    await s.replies("c6", "bot", "Billing disputes are handled by a person.", at(14, 9, 0, 1))
    await s.handoff(
        "c6",
        "policy",
        at(14, 9, 0, 30),
        "alice",
        at(14, 9, 1, 30),
        resolved=at(14, 9, 20, 30),
        survey_skipped=True,
    )
    await s.replies("c6", "agent", "Let me look at that charge.", at(14, 9, 2, 30))

    await s.conversation("c7", "cu7", "slack", "en", at(15, 10))
    await s.says("c7", "hello", at(15, 10))
    await s.replies("c7", "bot", "Hi! How can I help?", at(15, 10, 0, 1))
    await s.says("c7", "agent please", at(15, 10, 1))
    await s.handoff("c7", "requested", at(15, 10, 1))

    await s.conversation("c8", "cu1", "web", "en", at(13, 9))
    await s.says("c8", "reset password link not working", at(13, 9), answer("reset-password"))
    await s.replies("c8", "bot", "Reset your password: ...", at(13, 9, 0, 1))

    await s.conversation("c9", "cu2", "web", "en", at(18, 10, 30))
    await s.says("c9", "track my order", at(18, 10, 30), answer("track-order"))
    await s.replies("c9", "bot", "Track your order: ...", at(18, 10, 30, 1))

    await s.conversation("c10", "cu9", "web", "en", at(16, 11))
    await s.says("c10", "hi", at(16, 11))
    await s.handoff(
        "c10", "bot_error", at(16, 11, 0, 5), resolved=at(16, 11, 0, 30), status="withdrawn"
    )
    await s.replies("c10", "bot", "Hello!", at(16, 11, 0, 31))
    await s.says("c10", "opening hours?", at(16, 11, 1), answer("opening-hours"))
    await s.replies("c10", "bot", "We are open 9-17.", at(16, 11, 1, 1))

    await s.conversation("c13", "cu11", "web", "de", at(20, 8))
    await s.says("c13", "hallo", at(20, 8))

    await s.conversation("c14", "cu12", "slack", "en", at(21, 16))
    m14a = await s.says("c14", "cancel my subscription", at(21, 16), UNKNOWN)
    await s.gap("c14", "cancel my subscription", "unknown", at(21, 16), m14a, "cancel")
    await s.replies("c14", "bot", "Sorry, I don't know that yet.", at(21, 16, 0, 1))
    m14b = await s.says("c14", "how to cancel membership", at(21, 16, 1), UNKNOWN)
    await s.gap("c14", "how to cancel membership", "unknown", at(21, 16, 1), m14b, "cancel")
    await s.handoff("c14", "unanswered", at(21, 16, 1), "bob", at(21, 16, 6))
    await s.replies("c14", "agent", "I can cancel it for you.", at(21, 16, 8))

    # outside the range: nothing of these may be counted
    await s.conversation("c11", "cu10", "web", "en", at(31, 23, 59, 59, month=10))
    m11 = await s.says(
        "c11", "do you ship to mars", at(31, 23, 59, 59, month=10), answer("reset-password")
    )
    await s.gap("c11", "do you ship to mars", "unknown", at(1, 0, 0, 30), m11, "mars")
    await s.replies("c11", "bot", "Reset your password: ...", at(1, 0, 0, 1))
    h11 = await s.handoff("c11", "requested", at(1, 0, 1), "alice", at(1, 0, 2), resolved=at(1, 1))
    await s.replies("c11", "agent", "hi", at(1, 0, 3))
    await s.rating("c11", "csat", 1, at(1, 1, 1), h11, "=bad")
    await s.conversation("c12", "cu1", "web", "en", at(1, 0, month=12))
    await s.says("c12", "how do I reset my password", at(1, 0, month=12), answer("reset-password"))
    await s.replies("c12", "bot", "Reset your password: ...", at(1, 0, 0, 1, month=12))
    return s.seeded
