"""What an agent sees: the queue (sorted by priority and waiting time) and, per handoff, the
full context so the customer never has to repeat themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import Database
from bot.storage.models import Agent, Conversation, Customer, Handoff, Message, Note, utcnow

TRANSCRIPT_PAGE = 200  # messages of a transcript in one answer
OPENING = 20  # the customer's first messages, always read for the summary
MAX_ID = 2**63 - 1

REASON_WEIGHT = {
    "frustration": 3.0,
    "policy": 2.0,
    "bot_error": 2.0,
    "unanswered": 1.5,
    "requested": 1.0,
}


# the reason as the queue reads it: "frustrated · waiting 12 min"
REASON_TEXT = {
    "frustration": "frustrated",
    "policy": "policy question",
    "bot_error": "bot error",
    "unanswered": "bot could not answer",
    "requested": "requested a person",
}


def reason_text(reason: str) -> str:
    return REASON_TEXT.get(reason, reason.replace("_", " "))


def waiting_text(seconds: float) -> str:
    """ "waiting 40 s", "waiting 12 min", "waiting 2 h 5 min", "waiting 3 d"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"waiting {seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"waiting {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"waiting {hours} h" + (f" {minutes} min" if minutes else "")
    return f"waiting {hours // 24} d"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def priority(handoff: Handoff, now: datetime) -> float:
    """Reason, frustration and waiting time (up to +3 after 30 minutes) raise the priority."""
    waiting_min = (now - _aware(handoff.created_at)).total_seconds() / 60
    base = REASON_WEIGHT.get(handoff.reason, 1.0)
    return round(base + 2 * handoff.frustration + min(waiting_min / 10, 3.0), 2)


SMALL_TALK = {"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "survey"}
TRIED_SHOWN = 5  # the bot's latest attempts in the summary


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _kb(message: Message) -> dict[str, Any]:
    kb = message.kb
    return kb if isinstance(kb, dict) and kb.get("decision") else {}


def _articles(kb: dict[str, Any]) -> list[dict[str, Any]]:
    """The articles the bot tried ({id, title, score}); a clarify's: the ones it offered."""
    offered = set(kb.get("offered") or [])
    found = []
    for c in kb.get("candidates") or []:
        if not isinstance(c, dict) or (offered and c.get("id") not in offered):
            continue
        score = c.get("score")
        found.append(
            {
                "id": str(c.get("id") or ""),
                "title": str(c.get("title") or c.get("id") or ""),
                "score": round(float(score), 2) if isinstance(score, int | float) else None,
            }
        )
    return found


def _picks(previous: dict[str, Any], text: str) -> bool:
    """Whether `text` is the customer pressing one of a clarify's buttons."""
    said = _fold(text)
    return any(_fold(a["title"]) == said for a in _articles(previous))


def _states_something(m: Message) -> bool:
    """A message that says what the problem is: not small talk, not a bare "a person"."""
    if m.intent in SMALL_TALK or m.text.startswith("/"):
        return False
    if m.intent == "ask_human":
        return len(m.text.split()) >= 5
    return len(m.text.split()) >= 3


def _attempts(said: list[Message]) -> list[dict[str, Any]]:
    """What the bot tried, one entry per question: a clarify and the button the customer
    pressed are one attempt. `settled`: answered (or a button picked); `open`: a clarify never
    picked or no article found."""
    attempts: list[dict[str, Any]] = []
    for m in said:
        kb = _kb(m)
        if not kb:
            continue
        decision = str(kb["decision"])
        last = attempts[-1] if attempts else None
        if last and last["decision"] == "clarify" and last["open"] and _picks(last["kb"], m.text):
            last.update(decision="clarify", open=False, picked=m.text, answer=kb.get("article"))
            continue
        attempts.append(
            {
                "message_id": m.id,
                "question": m.text,
                "decision": decision,
                "articles": _articles(kb),
                "open": decision in ("unknown", "clarify"),
                "picked": None,
                "answer": kb.get("article") if decision == "answer" else None,
                "kb": kb,
            }
        )
    return attempts


def _tried_text(attempt: dict[str, Any]) -> str:
    def named(a: dict[str, Any]) -> str:
        score = f" ({a['score']:.2f})" if a["score"] is not None else ""
        return f"“{a['title']}”{score}"

    articles = attempt["articles"]
    if attempt["decision"] == "answer":
        return f"answered with {named(articles[0])}" if articles else "answered"
    if attempt["decision"] == "clarify":
        offered = "offered " + (", ".join(named(a) for a in articles) or "a choice")
        if attempt["picked"]:
            return f"{offered}; the customer picked “{attempt['picked']}”"
        return f"{offered}; the customer picked none"
    best = f" (closest: {named(articles[0])})" if articles else ""
    return f"found no article{best}"


def _why(reason: str, detail: dict[str, Any], open_count: int, policy: str | None) -> str:
    """Why the bot escalated, in words."""
    if reason == "requested":
        return "the customer asked for a person"
    if reason == "frustration":
        signals = [str(s).replace("_", " ") for s in detail.get("signals") or []]
        return "the customer was frustrated" + (f" ({', '.join(signals)})" if signals else "")
    if reason == "unanswered":
        times = int(detail.get("unknown_streak") or 0) or max(open_count, 2)
        return f"the bot could not answer {times} times in a row"
    if reason == "policy":
        return f"the article {policy or 'answered'} says a person handles this"
    if reason == "bot_error":
        return "the assistant could not be reached"
    return reason_text(reason)


def summary(
    messages: list[Message], reason: str | None = None, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The trigger of the handoff, extracted from what was said and what the bot did:
    `first_problem` the question that failed (the newest one the bot could not settle, or a
    statement it never tried), `tried` the bot's attempts in words, `why` the reason in words,
    `unanswered` the questions left open (no article found, a clarify never picked)."""
    said = [m for m in messages if m.direction == "in" and m.sender == "customer"]
    attempts = _attempts(said)
    # a statement after the bot's last attempt that it never tried: that is the problem
    after = attempts[-1]["message_id"] if attempts else -1
    untried = [m for m in said if m.id > after and not _kb(m) and _states_something(m)]
    failed = next((a for a in reversed(attempts) if a["open"]), None)
    if reason == "policy":
        failed = next((a for a in reversed(attempts) if a["decision"] == "answer"), failed)
    # "a person please, the form rejects my IBAN" says more than an answered question, but
    # less than a question the bot could not answer
    asked = [m for m in untried if m.intent != "ask_human" or failed is None]
    if asked and reason != "policy":
        question = asked[-1].text
    elif failed is not None:
        question = failed["question"]
    elif attempts:
        question = attempts[-1]["question"]
    else:
        stating = [m for m in said if _states_something(m)]
        question = (stating or said)[0].text if said else ""
    unanswered = [a["question"] for a in attempts if a["open"]]
    policy = next(
        (
            f"“{a['articles'][0]['title']}”"
            for a in reversed(attempts)
            if a["decision"] == "answer" and a["articles"]
        ),
        None,
    )
    tried = [
        {
            "question": a["question"],
            "decision": a["decision"],
            "articles": a["articles"],
            "picked": a["picked"],
            "text": _tried_text(a),
        }
        for a in attempts[-TRIED_SHOWN:]
    ]
    return {
        "first_problem": question,
        "last_message": said[-1].text if said else "",
        "unanswered": unanswered,
        "tried": tried,
        "why": _why(reason, detail or {}, len(unanswered), policy) if reason else "",
    }


def _span(messages: list[Message], handoff: Handoff, since: datetime | None) -> list[Message]:
    """The messages that led to `handoff`: after the previous handoff was resolved (`since`)
    and up to this one (all of them if that leaves no customer message)."""
    until = _aware(handoff.created_at)
    start = _aware(since) if since else None
    inside = [
        m
        for m in messages
        if _aware(m.created_at) <= until and (start is None or _aware(m.created_at) > start)
    ]
    return inside if any(m.direction == "in" for m in inside) else messages


async def _page(
    s: AsyncSession, conversation_id: int, before: int | None, limit: int
) -> tuple[list[Message], bool]:
    """At most `limit` messages before id `before` (or the latest), oldest first, and whether
    there are older ones."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None and before <= MAX_ID:  # beyond any id: the latest page
        before = max(before, 0)
        query = query.where(Message.id < before)
    rows = list((await s.execute(query.order_by(Message.id.desc()).limit(limit + 1))).scalars())
    return list(reversed(rows[:limit])), len(rows) > limit


async def _opening(s: AsyncSession, conversation_id: int) -> list[Message]:
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "in")
        .order_by(Message.id)
        .limit(OPENING)
    )
    return list((await s.execute(query)).scalars())


def _merged(*lists: list[Message]) -> list[Message]:
    return sorted({m.id: m for found in lists for m in found}.values(), key=lambda m: m.id)


def _with_people() -> Select[Handoff, Conversation, Customer, Agent]:
    """Handoffs with their conversation, customer and (if claimed) agent."""
    return (
        select(Handoff, Conversation, Customer, Agent)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(Agent, Agent.id == Handoff.agent_id)
    )


class HandoffViews:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def queue(self) -> list[dict[str, Any]]:
        now = utcnow()
        async with self.db.session() as s:
            query = _with_people().where(Handoff.status.in_(("queued", "claimed")))
            rows = (await s.execute(query)).tuples()
            items = []
            for handoff, conversation, customer, agent in rows:
                last = (
                    await s.execute(
                        select(Message.text)
                        .where(
                            Message.conversation_id == conversation.id, Message.direction == "in"
                        )
                        .order_by(Message.id.desc())
                        .limit(1)
                    )
                ).scalar_one_or_none()
                items.append(self.row(handoff, conversation, customer, agent, last or "", now))
        items.sort(key=lambda h: (-h["priority"], -h["waiting_seconds"]))
        return items

    @staticmethod
    def row(
        handoff: Handoff,
        conversation: Conversation,
        customer: Customer,
        agent: Agent | None,
        last_message: str,
        now: datetime,
    ) -> dict[str, Any]:
        waiting = int((now - _aware(handoff.created_at)).total_seconds())
        return {
            "id": handoff.id,
            "conversation_key": conversation.key,
            "channel": conversation.channel,
            "language": conversation.language,
            "reason": handoff.reason,
            "status": handoff.status,
            "priority": priority(handoff, now),
            # what the priority is made of, for people: "frustrated · waiting 12 min"
            "reason_text": reason_text(handoff.reason),
            "priority_text": f"{reason_text(handoff.reason)} · {waiting_text(waiting)}",
            "waiting_seconds": waiting,
            "customer_name": customer.display_name or f"{conversation.channel} customer",
            "agent": agent.username if agent else None,
            "last_message": last_message,
            "created_at": _aware(handoff.created_at).isoformat(),
            "resolution_note": handoff.resolution_note,
            "resolved_at": _aware(handoff.resolved_at).isoformat() if handoff.resolved_at else None,
            "survey_skipped": handoff.survey_skipped,  # resolved without asking for a rating
        }

    async def item(self, handoff_id: int) -> dict[str, Any] | None:
        if not -MAX_ID <= handoff_id <= MAX_ID:  # no such id; the database cannot even compare
            return None
        async with self.db.session() as s:
            row = (await s.execute(_with_people().where(Handoff.id == handoff_id))).first()
        if row is None:
            return None
        return self.row(*row.tuple(), last_message="", now=utcnow())

    async def context(
        self, handoff_id: int, before: int | None = None, limit: int = TRANSCRIPT_PAGE
    ) -> dict[str, Any] | None:
        """Everything about a handoff, with the latest `limit` messages of its transcript (or
        the `limit` before message id `before`); `transcript_more` tells whether there are
        older ones (ask again with `before` = the first message's id)."""
        item = await self.item(handoff_id)
        if item is None:
            return None
        async with self.db.session() as s:
            handoff = await s.get(Handoff, handoff_id)
            assert handoff is not None
            conversation = await s.get(Conversation, handoff.conversation_id)
            assert conversation is not None
            customer = await s.get(Customer, conversation.customer_id)
            assert customer is not None
            latest, latest_more = await _page(s, conversation.id, None, limit)
            page, more = (
                (latest, latest_more)
                if before is None
                else await _page(s, conversation.id, before, limit)
            )
            # the summary needs the customer's first words, however long ago they were
            opening = [] if not latest_more else await _opening(s, conversation.id)
            messages = _merged(opening, latest)
            other_conversations = (
                await s.execute(
                    select(func.count())
                    .select_from(Conversation)
                    .where(
                        Conversation.customer_id == customer.id, Conversation.id != conversation.id
                    )
                )
            ).scalar_one()
            earlier_handoffs = (
                await s.execute(
                    select(func.count())
                    .select_from(Handoff)
                    .join(Conversation, Conversation.id == Handoff.conversation_id)
                    .where(Conversation.customer_id == customer.id, Handoff.id < handoff.id)
                )
            ).scalar_one()
            # the handoff is about what was said since the previous one was resolved
            since = (
                await s.execute(
                    select(func.max(Handoff.resolved_at)).where(
                        Handoff.conversation_id == conversation.id, Handoff.id < handoff.id
                    )
                )
            ).scalar_one_or_none()
            notes = (
                await s.execute(
                    select(Note, Agent)
                    .join(Agent, Agent.id == Note.agent_id)
                    .where(Note.conversation_id == conversation.id)
                    .order_by(Note.id)
                )
            ).tuples()
            note_list = [
                {"agent": a.display_name, "text": n.text, "at": _aware(n.created_at).isoformat()}
                for n, a in notes
            ]
        said = [m for m in messages if m.direction == "in"]
        all_signals = sorted({sig for m in said for sig in (m.signals or [])})
        item["last_message"] = said[-1].text if said else ""
        return {
            "handoff": item,
            "customer": {
                "name": item["customer_name"],
                "channel": customer.channel,
                "first_seen": _aware(customer.first_seen).isoformat(),
                # vouched for by the shop (identity verification), else None
                "id": customer.id,  # the profile: GET /api/agent/customers/{id}
                "verified": customer.verified_id,
                "email": customer.email,
                "earlier_conversations": int(other_conversations) + int(earlier_handoffs),
            },
            "summary": {
                **summary(_span(messages, handoff, since), handoff.reason, handoff.detail or {}),
                "last_message": item["last_message"],  # the latest, also after the handoff
            },
            "signals": {"score": handoff.frustration, "signals": all_signals},
            "detail": handoff.detail or {},
            "transcript": [
                {
                    "id": m.id,
                    "sender": m.sender,
                    "agent": ((m.payload or {}).get("custom") or {}).get("agent"),
                    "text": m.text,
                    "at": _aware(m.created_at).isoformat(),
                    "intent": m.intent,
                    "confidence": m.intent_confidence,
                    "articles": (m.kb or {}).get("candidates", []),
                    "decision": (m.kb or {}).get("decision"),
                    "frustration": m.frustration,
                    "signals": m.signals or [],
                }
                for m in page
            ],
            "transcript_more": more,
            "notes": note_list,
        }
