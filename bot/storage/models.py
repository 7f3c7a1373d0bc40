"""Tables. Changing them means a new Alembic migration in `bot/storage/migrations/versions`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    # set when the shop vouched for the customer (identity verification, HMAC of the user id)
    verified_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    # satisfaction surveys ask one customer at most once per SURVEY_EVERY_DAYS
    last_surveyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # what the shop passed to the widget (plan, order number, page URL): bot/console/customers.py
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # an agent merged this profile into another one (reversible: customer_merges)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # "<channel>:<chat id>"
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    state: Mapped[str] = mapped_column(String(16), default="bot")  # see bot/handoff/handoffs.py
    awaiting_rating: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "vendor_message_id"),
        # what the reports read of a conversation's messages (migration 0008)
        Index(
            "ix_messages_report",
            "conversation_id",
            "sender",
            "created_at",
            "kb_decision",
            "kb_article",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    sender: Mapped[str] = mapped_column(String(16))  # customer | bot | agent | system
    text: Mapped[str] = mapped_column(Text, default="")
    length: Mapped[int | None] = mapped_column(Integer)  # the text's length before truncation
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    vendor_message_id: Mapped[str | None] = mapped_column(String(255))
    # in: received -> processed | pending (Rasa unreachable, retried later) | rejected
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    # when the turn was sent to Rasa: a retry asks Rasa's tracker first, never sends it twice
    rasa_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    intent: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    # what the bot tried for this message: {"decision", "article", "candidates": [...]}
    kb: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # copied from `kb` whenever it is set (`_copy_kb_outcome`), so that reports count them
    # without parsing JSON: the decision, and the article answered (else the first candidate)
    kb_decision: Mapped[str | None] = mapped_column(String(16))
    kb_article: Mapped[str | None] = mapped_column(String(128))
    frustration: Mapped[float | None] = mapped_column(Float)
    signals: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


def kb_columns(kb: Any) -> tuple[str | None, str | None]:
    """(kb_decision, kb_article) of a `Message.kb` value."""
    if not isinstance(kb, dict) or not kb.get("decision"):
        return None, None
    article = kb.get("article")
    candidates = kb.get("candidates")
    if not article and isinstance(candidates, list) and candidates:
        first = candidates[0]
        article = first.get("id") if isinstance(first, dict) else None
    return str(kb["decision"])[:16], str(article)[:128] if article else None


@event.listens_for(Message.kb, "set")
def _copy_kb_outcome(target: Message, value: Any, _old: Any, _initiator: Any) -> None:
    target.kb_decision, target.kb_article = kb_columns(value)


class Gap(Base):
    """A question the bot could not answer, for content writers."""

    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    conversation_key: Mapped[str | None] = mapped_column(String(300), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    # unknown | clarify | not_helpful | handoff | handoff_after_answer | low_rating
    reason: Mapped[str] = mapped_column(String(32), default="unknown")
    candidates: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"id","title","score"}]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the customer message that asked the question (None: logged without one, e.g. by a test)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    article_id: Mapped[str | None] = mapped_column(String(128))  # the answer that did not help
    # None until the gap is embedded (the knowledge base was not loaded yet)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("gap_clusters.id"), index=True)


class GapCluster(Base):
    """Gaps that ask the same thing (by meaning, per language), for content writers."""

    __tablename__ = "gap_clusters"
    __table_args__ = (Index("ix_gap_clusters_status_count", "status", "count"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|covered|dismissed
    covered_by: Mapped[str | None] = mapped_column(String(128))  # an article id
    count: Mapped[int] = mapped_column(Integer, default=0)
    question: Mapped[str] = mapped_column(Text)  # the representative: the first one
    centroid: Mapped[bytes] = mapped_column(LargeBinary)  # float32, unit length
    model: Mapped[str] = mapped_column(String(128), default="")  # the embedder of `centroid`
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ArticleEvent(Base):
    """One use of an article: answered | offered (in a clarify) | not_helpful | handoff.
    Usage counts are computed from these rows in SQL."""

    __tablename__ = "article_events"
    __table_args__ = (Index("ix_article_events_article", "article_id", "language", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16), default="")
    kind: Mapped[str] = mapped_column(String(16))
    conversation_key: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | writer | admin
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # routing (bot/handoff/routing.py): language tags and skills, capacity, team
    languages: Mapped[list[Any] | None] = mapped_column(JSON)
    skills: Mapped[list[Any] | None] = mapped_column(JSON)
    max_open: Mapped[int | None] = mapped_column(Integer)  # None: the ROUTING_MAX_OPEN default
    team: Mapped[str | None] = mapped_column(String(64))


class AuthSession(Base):
    """A logged-in browser: the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """A failed agent login: recent ones per account and per address slow the next tries."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class WebSession(Base):
    """A web-chat credential: the widget holds the token, the table only its SHA-256. Several
    tokens may share one session (a verified customer's devices)."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session: Mapped[str] = mapped_column(String(128), index=True)
    verified_user: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    reason: Mapped[str] = mapped_column(
        String(16)
    )  # requested|frustration|unanswered|policy|bot_error
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|claimed|resolved
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    frustration: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # resolved with "resolve without survey": the customer is not asked for a rating
    survey_skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # routing (bot/handoff/routing.py): the team, queued while it was closed, the agent picked
    team: Mapped[str | None] = mapped_column(String(64))
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    offered_to: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    offered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Note(Base):
    """A private note by an agent on a conversation; never shown to the customer."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SavedReply(Base):
    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rating(Base):
    """A customer's survey answer. `kind`: `csat` ("how did we do?" 1-5 after an agent resolved
    the conversation), `answer` ("did this answer your question?" after a bot answer: 5 yes,
    1 no, with the message and article it is about) or `nps` (0-10). `comment`: the customer's
    "what went wrong?" after a low score."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_kind_created_at", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"))
    kind: Mapped[str] = mapped_column(String(8), default="csat", server_default="csat")
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    article_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlackDeskMessage(Base):
    """The Slack agent desk's message for a handoff: its thread is where the agent works."""

    __tablename__ = "slack_desk_messages"
    __table_args__ = (UniqueConstraint("channel", "ts"),)

    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ArticleDraft(Base):
    """An article a writer has yet to review, built from what an agent answered in a handoff."""

    __tablename__ = "article_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"), unique=True)
    language: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[str] = mapped_column(String(128))  # the suggested id
    title: Mapped[str] = mapped_column(String(300))
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open|published
    created_by: Mapped[str] = mapped_column(String(64))  # username
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_as: Mapped[str | None] = mapped_column(String(160))  # "<language>/<id>"
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ArticleChange(Base):
    """One save of an article from the writers' page: who, when, what changed."""

    __tablename__ = "article_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(128), index=True)
    language: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # created | replaced
    author: Mapped[str] = mapped_column(String(64))  # username
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the changed fields
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
