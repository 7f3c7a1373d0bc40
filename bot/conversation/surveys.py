"""Satisfaction surveys, asked the way good practice says: short, seldom, and acted upon.

- **After a bot answer**: one click, "did this answer your question?" — Yes / No buttons on the
  answer itself (`ask_about_answers`). Yes stores a rating `answer` 5 and counts the article as
  `helpful`; No stores `answer` 1 and takes the "that didn't help" path: the question is logged
  as a gap (`not_helpful`, with the article) and a person is offered.
- **After an agent resolved a handoff**: "how did we do?" 1–5 (`resolved_message`), unless the
  agent resolved without a survey or the customer was asked less than `every_days` ago
  (`customers.last_surveyed_at`; 0: every time). A score <= 2 gets one "what went wrong?"
  question: the customer's next text is the rating's `comment` (or they press Skip), and
  supervisors and admins are alerted (`listeners`, told again when the comment arrives).
- **NPS** (0–10), off unless `nps_every_days` > 0: asked after a csat answer of 3–5, at most
  once per `nps_every_days` per customer.

The router hands every customer message to `reply_to` before Rasa: survey buttons carry
payloads nobody types (`/answer_yes:<question id>`, `/survey_skip:<rating id>`), so the Rasa
model knows nothing of surveys. A repeated or stale click gets a short honest reply, never a
second rating.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot.cluster.events import Event, LocalBus
from bot.i18n import t
from bot.messages import Button, OutgoingMessage, human_button
from bot.storage.db import Database
from bot.storage.models import Agent, Conversation, Customer, Handoff, Message, Rating, utcnow

if TYPE_CHECKING:
    from bot.knowledge.gaps import GapBook

log = logging.getLogger(__name__)

LOW_SCORE = 2  # a csat score at or below it: "what went wrong?" and an alert
ALERT_ROLES = ("supervisor", "admin")  # who gets low-score alerts in the console
SURVEY_INTENT = "survey"  # the `intent` of customer messages that answered a survey
COMMENT_WAIT = timedelta(hours=1)  # a text this long after "what went wrong?" is not its answer
COMMENT_CHARS = 4000
ANSWER_LOOKAHEAD = 10  # messages after a question searched for the bot's answer to it

ANSWER = re.compile(r"^/answer_(yes|no):(\d{1,18})$")
SKIP = re.compile(r"^/survey_skip:(\d{1,18})$")
RATING = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*(stars?)?\s*$", re.IGNORECASE)
NPS = re.compile(r"^\s*(10|[0-9])\s*(/\s*10)?\s*$")
DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")  # Persian, Arabic


@dataclass(frozen=True)
class LowScore:
    """A csat score <= LOW_SCORE, as supervisors see it (again, with the comment, once the
    customer has written it)."""

    rating_id: int
    score: int
    comment: str | None
    conversation: str  # the conversation's key
    channel: str
    language: str | None
    customer: str | None  # the customer's name as the channel gave it
    handoff_id: int | None
    agent: str | None  # display name of the agent who resolved the handoff
    at: str  # when the score was given, ISO 8601

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_event(cls, event: Event) -> LowScore | None:
        """The alert a "rating" event carries (None: not one of ours)."""
        body = event.data.get("alert")
        try:
            return cls(**body) if isinstance(body, dict) else None
        except TypeError:
            return None


RatingListener = Callable[[Conversation, int], Awaitable[None]]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_survey_button(text: str) -> bool:
    """Whether `text` is the payload of a survey button (Yes / No under an answer, Skip)."""
    text = text.strip()
    return bool(ANSWER.match(text) or SKIP.match(text))


def answer_buttons(question_id: int, language: str | None) -> list[Button]:
    """Yes / No for the bot's answer to customer message `question_id`."""
    return [
        Button(t("answer_yes", language), f"/answer_yes:{question_id}"),
        Button(t("answer_no", language), f"/answer_no:{question_id}"),
    ]


def _survey_marker(message: Message) -> dict[str, Any]:
    custom = (message.payload or {}).get("custom") or {}
    survey = custom.get("survey") if isinstance(custom, dict) else None
    return survey if isinstance(survey, dict) else {}


class Surveys:
    def __init__(
        self,
        db: Database,
        every_days: float = 7.0,
        nps_every_days: float = 0.0,
        gaps: GapBook | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        bus: LocalBus | None = None,
        on_rating: RatingListener | None = None,
    ) -> None:
        self.db = db
        self.every_days = every_days
        self.nps_every_days = nps_every_days
        self.gaps = gaps  # the gap log and article usage (None: not counted)
        self.clock = clock
        self.bus = bus or LocalBus()  # low scores (and their comments) go out as "rating" events
        self.on_rating = on_rating  # told of every csat score (the gap log)

    # -- after a bot answer ----------------------------------------------------------------

    @staticmethod
    def ask_about_answers(
        replies: list[OutgoingMessage], question_id: int, language: str | None
    ) -> list[OutgoingMessage]:
        """The replies to customer message `question_id`, with Yes / No on the knowledge-base
        answer among them (before its other buttons)."""
        out, asked = [], False
        for reply in replies:
            kb = (reply.custom or {}).get("kb")
            if not asked and isinstance(kb, dict) and kb.get("decision") == "answer":
                buttons = [*answer_buttons(question_id, language), *reply.buttons]
                reply, asked = replace(reply, buttons=buttons), True
            out.append(reply)
        return out

    # -- after a resolved handoff ----------------------------------------------------------

    async def due(self, conversation: Conversation) -> bool:
        """Whether the customer may be asked "how did we do?" now (not asked recently)."""
        if self.every_days <= 0:
            return True
        async with self.db.session() as s:
            last = (
                await s.execute(
                    select(Customer.last_surveyed_at).where(Customer.id == conversation.customer_id)
                )
            ).scalar_one_or_none()
        return last is None or self.clock() - _aware(last) >= timedelta(days=self.every_days)

    async def resolved_message(
        self, conversation: Conversation, handoff_id: int, agent_name: str, ask: bool, why: str
    ) -> OutgoingMessage:
        """What the customer is told when an agent resolves: the 1–5 question when `ask` (the
        customer is then marked surveyed), else only that they are back with the bot (`why`:
        `skipped` by the agent, or `recent`: asked less than `every_days` ago)."""
        language = conversation.language
        if not ask:
            return OutgoingMessage(
                t("resolved_no_survey", language, agent=agent_name),
                custom={"csat": {"handoff": handoff_id, "asked": False, "why": why}},
            )
        async with self.db.session() as s:
            await s.execute(
                update(Customer)
                .where(Customer.id == conversation.customer_id)
                .values(last_surveyed_at=self.clock())
            )
            await s.commit()
        return OutgoingMessage(
            t("rating_question", language, agent=agent_name),
            buttons=[Button(str(n), str(n)) for n in range(1, 6)],
            custom={"csat": {"handoff": handoff_id}},
        )

    # -- the customer's answers ------------------------------------------------------------

    async def reply_to(
        self, conversation: Conversation, message: Message
    ) -> list[OutgoingMessage] | None:
        """The replies when `message` answers a survey (it is then marked processed, intent
        `survey`), else None: the message goes on to the bot."""
        text = message.text.strip()
        replies: list[OutgoingMessage] | None
        if found := ANSWER.match(text):
            replies = await self._answer_feedback(
                conversation, int(found.group(2)), found.group(1) == "yes"
            )
        elif found := SKIP.match(text):
            replies = await self._skip(conversation, message, int(found.group(1)))
        else:
            replies = await self._pending(conversation, message)
        if replies is not None:
            async with self.db.session() as s:
                await s.execute(
                    update(Message)
                    .where(Message.id == message.id)
                    .values(status="processed", intent=SURVEY_INTENT)
                )
                await s.commit()
        return replies

    async def _pending(
        self, conversation: Conversation, message: Message
    ) -> list[OutgoingMessage] | None:
        """A rating 1–5 after "how did we do?", a comment after "what went wrong?" or an NPS
        score after its question; None for anything else."""
        if conversation.awaiting_rating:  # any message ends the wait, as before
            await self._set(conversation, awaiting_rating=False)
            rated = RATING.match(message.text.translate(DIGITS))
            return await self._csat(conversation, int(rated.group(1))) if rated else None
        asked = await self._last_bot_message(conversation.id, message.id)
        marker = _survey_marker(asked) if asked else {}
        if not asked or not marker or self.clock() - _aware(asked.created_at) > COMMENT_WAIT:
            return None
        text = message.text.strip()
        if marker.get("kind") == "comment" and not text.startswith("/"):
            return await self._comment(conversation, int(marker.get("rating") or 0), text)
        if marker.get("kind") == "nps" and (score := NPS.match(text.translate(DIGITS))):
            return await self._nps(conversation, int(score.group(1)))
        return None

    async def _set(self, conversation: Conversation, **values: Any) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(Conversation).where(Conversation.id == conversation.id).values(**values)
            )
            await s.commit()
        for name, value in values.items():
            setattr(conversation, name, value)

    async def _last_bot_message(self, conversation_id: int, before: int) -> Message | None:
        async with self.db.session() as s:
            return (
                (
                    await s.execute(
                        select(Message)
                        .where(
                            Message.conversation_id == conversation_id,
                            Message.direction == "out",
                            Message.id < before,
                        )
                        .order_by(Message.id.desc())
                        .limit(1)
                    )
                )
                .scalars()
                .first()
            )

    async def _csat(self, conversation: Conversation, score: int) -> list[OutgoingMessage]:
        async with self.db.session() as s:
            last = (
                await s.execute(
                    select(Handoff.id)
                    .where(Handoff.conversation_id == conversation.id)
                    .order_by(Handoff.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            rating = Rating(
                conversation_id=conversation.id, handoff_id=last, kind="csat", score=score
            )
            s.add(rating)
            await s.commit()
        if self.on_rating:
            try:
                await self.on_rating(conversation, score)
            except Exception:  # the rating is stored; the gap log is not the customer's concern
                log.exception("rating listener failed for %s", conversation.key)
        language = conversation.language
        if score <= LOW_SCORE:
            await self._alert(rating.id)
            skip = Button(t("skip_button", language), f"/survey_skip:{rating.id}")
            return [
                OutgoingMessage(
                    t("rating_followup", language),
                    [skip],
                    custom={"survey": {"kind": "comment", "rating": rating.id}},
                )
            ]
        replies = [OutgoingMessage(t("rating_thanks", language))]
        if await self._nps_due(conversation):
            replies.append(
                OutgoingMessage(
                    t("nps_question", language),
                    [Button(str(n), str(n)) for n in range(11)],
                    custom={"survey": {"kind": "nps"}},
                )
            )
        return replies

    async def _comment(
        self, conversation: Conversation, rating_id: int, text: str
    ) -> list[OutgoingMessage] | None:
        async with self.db.session() as s:
            rating = await s.get(Rating, rating_id)
            if rating is None or rating.conversation_id != conversation.id or rating.comment:
                return None
            rating.comment = text[:COMMENT_CHARS]
            await s.commit()
        await self._alert(rating_id)
        return [OutgoingMessage(t("comment_thanks", conversation.language))]

    async def _skip(
        self, conversation: Conversation, message: Message, rating_id: int
    ) -> list[OutgoingMessage]:
        language = conversation.language
        async with self.db.session() as s:
            rating = await s.get(Rating, rating_id)
        if rating is None or rating.conversation_id != conversation.id:
            return [OutgoingMessage(t("survey_stale", language))]
        asked = await self._last_bot_message(conversation.id, message.id)
        marker = _survey_marker(asked) if asked else {}
        if marker.get("kind") != "comment" or marker.get("rating") != rating_id:
            return [OutgoingMessage(t("survey_done", language))]  # skipped or answered already
        return [OutgoingMessage(t("rating_thanks", language))]

    async def _nps(self, conversation: Conversation, score: int) -> list[OutgoingMessage]:
        async with self.db.session() as s:
            s.add(Rating(conversation_id=conversation.id, kind="nps", score=score))
            await s.commit()
        return [OutgoingMessage(t("comment_thanks", conversation.language))]

    async def _nps_due(self, conversation: Conversation) -> bool:
        """NPS is on and this customer was neither asked nor answered it recently."""
        if self.nps_every_days <= 0:
            return False
        since = self.clock() - timedelta(days=self.nps_every_days)
        kind = Message.payload[("custom", "survey", "kind")].as_string()
        async with self.db.session() as s:
            asked = await s.execute(
                select(Message.id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Conversation.customer_id == conversation.customer_id,
                    Message.direction == "out",
                    Message.created_at >= since,
                    kind == "nps",
                )
                .limit(1)
            )
            return asked.first() is None

    # -- "did this answer your question?" --------------------------------------------------

    async def _answer_feedback(
        self, conversation: Conversation, question_id: int, helpful: bool
    ) -> list[OutgoingMessage]:
        language = conversation.language
        async with self.db.session() as s:
            question = await s.get(Message, question_id)
            kb = (question.kb or {}) if question else {}
            if (
                question is None
                or question.conversation_id != conversation.id
                or question.direction != "in"
                or kb.get("decision") != "answer"
            ):
                return [OutgoingMessage(t("survey_stale", language))]
            following = (
                await s.execute(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.direction == "out",
                        Message.id > question_id,
                    )
                    .order_by(Message.id)
                    .limit(ANSWER_LOOKAHEAD)
                )
            ).scalars()
            answer = next(
                (
                    m
                    for m in following
                    if ((m.payload or {}).get("custom") or {}).get("kb", {}).get("decision")
                    == "answer"
                ),
                None,
            )
            if answer is None:
                return [OutgoingMessage(t("survey_stale", language))]
            rated = await s.execute(
                select(Rating.id)
                .where(Rating.kind == "answer", Rating.message_id == answer.id)
                .limit(1)
            )
            if rated.first() is not None:
                return [OutgoingMessage(t("survey_done", language))]
            article = kb.get("article")
            s.add(
                Rating(
                    conversation_id=conversation.id,
                    kind="answer",
                    score=5 if helpful else 1,
                    message_id=answer.id,
                    article_id=str(article) if article else None,
                )
            )
            await s.commit()
        try:
            await self._log_usage(conversation, question, kb, helpful)
        except Exception:  # the customer still gets the reply
            log.exception("could not log the answer feedback of %s", conversation.key)
        if helpful:
            return [OutgoingMessage(t("answer_thanks", language))]
        return [OutgoingMessage(t("not_helpful", language), [human_button(language)])]

    async def _log_usage(
        self, conversation: Conversation, question: Message, kb: dict[str, Any], helpful: bool
    ) -> None:
        """Yes: the article counts as `helpful`. No: as "that didn't help" from Rasa does — the
        question is a `not_helpful` gap with its article, and the article counts `not_helpful`."""
        if self.gaps is None:
            return
        key, language = conversation.key, conversation.language
        article = kb.get("article")
        if helpful:
            if article:
                await self.gaps.used(article, language, "helpful", key, question.id)
            return
        await self.gaps.answer_did_not_help(question.text, key, language, kb, question.id)

    # -- alerts ----------------------------------------------------------------------------

    async def low_score(self, rating_id: int) -> LowScore | None:
        """The alert for a low csat rating (None when it is not one)."""
        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(Rating, Conversation, Customer.display_name, Agent.display_name)
                    .join(Conversation, Conversation.id == Rating.conversation_id)
                    .join(Customer, Customer.id == Conversation.customer_id)
                    .outerjoin(Handoff, Handoff.id == Rating.handoff_id)
                    .outerjoin(Agent, Agent.id == Handoff.agent_id)
                    .where(Rating.id == rating_id)
                )
            ).first()
        if row is None:
            return None
        rating, conversation, customer, agent = row
        if rating.kind != "csat" or rating.score > LOW_SCORE:
            return None
        return LowScore(
            rating_id=rating.id,
            score=rating.score,
            comment=rating.comment,
            conversation=conversation.key,
            channel=conversation.channel,
            language=conversation.language,
            customer=customer,
            handoff_id=rating.handoff_id,
            agent=agent,
            at=_aware(rating.created_at).isoformat(),
        )

    async def _alert(self, rating_id: int) -> None:
        """Publish the low score (supervisors' consoles, the Slack desk); a failure is logged
        and never fails the customer's turn."""
        try:
            alert = await self.low_score(rating_id)
            if alert is None:
                return
            frame = {"type": "low_rating", "rating": alert.to_dict()}
            data = {"console": frame, "roles": list(ALERT_ROLES), "alert": alert.to_dict()}
            await self.bus.publish(Event("rating", alert.conversation, alert.handoff_id, data=data))
        except Exception:
            log.exception("could not alert about low rating %s", rating_id)
