"""The reports' SQL: SQLAlchemy Core expressions that run the same on SQLite and PostgreSQL.

Everything is aggregated in the database; Python only receives one row per group. The building
blocks, all limited to a `Scope` (dates, channel, language, agent, handoff reason):

- `conversations`: the conversations created in the range (a CTE every query starts from);
- `facts`: one row per such conversation (customer messages, the knowledge base's decisions,
  whether the bot replied, handoffs, whether it was contained);
- `handoff_times`: one row per handoff (queue wait, first response, resolution in seconds);
- `csat`: one row per `csat` rating, with its conversation's channel and language and its
  handoff's agent and reason;
- `percentiles`: count, median and p90 per group, by window functions both databases have
  (linear interpolation between the two closest ranks, as PostgreSQL's `percentile_cont`);
- `topics` / `repeats`: each customer message's topic and the previous message about the same
  topic from the same customer (`lag`), for repeat contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    Date,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.models import Agent, Conversation, Gap, Handoff, Message, Rating

HOUR = 3600.0
DAY = 86400.0
REPEAT_AFTER = HOUR  # a message about the same topic sooner than this is the same contact
REPEAT_WITHIN = 7 * DAY  # ... and later than this a new contact, not a repeat
MEASURES = ("queue_wait", "first_response", "resolution")
NOT_COUNTED = "withdrawn"  # a bot_error handoff the bot took back before anyone claimed it

Column = ColumnElement[Any]


@dataclass(frozen=True)
class Scope:
    """What a report covers: conversations created in [start, end) (UTC), on a channel, in a
    language, with a handoff claimed by an agent (id) and/or with a reason."""

    start: datetime
    end: datetime
    channel: str | None = None
    language: str | None = None
    agent_id: int | None = None
    reason: str | None = None

    @property
    def by_handoff(self) -> bool:
        return self.agent_id is not None or self.reason is not None


def counted_handoff(scope: Scope) -> list[Column]:
    """The conditions a handoff meets to be counted in `scope`."""
    conditions: list[Column] = [Handoff.status != NOT_COUNTED]
    if scope.agent_id is not None:
        conditions.append(Handoff.agent_id == scope.agent_id)
    if scope.reason is not None:
        conditions.append(Handoff.reason == scope.reason)
    return conditions


def count_if(condition: Column) -> Column:
    return func.sum(case((condition, 1), else_=0))


class ReportSQL:
    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite

    # -- dialect differences ---------------------------------------------------------------

    def seconds(self, later: Any, earlier: Any) -> Column:
        """`later - earlier` in seconds (float); NULL when either is NULL."""
        if self.sqlite:
            return cast((func.julianday(later) - func.julianday(earlier)) * DAY, Float)
        return func.date_part("epoch", later - earlier)  # a double (EXTRACT: a slower numeric)

    def day(self, column: Any) -> Column:
        """The UTC date of a timestamp (a `date` on PostgreSQL, 'YYYY-MM-DD' on SQLite)."""
        if self.sqlite:
            return func.date(column)
        return cast(func.timezone("UTC", column), Date)

    @staticmethod
    def decision() -> Column:
        return Message.kb_decision  # type: ignore[return-value]

    # -- the conversations a report covers -------------------------------------------------

    def conversations(self, scope: Scope) -> CTE:
        query = select(
            Conversation.id,
            Conversation.key,
            Conversation.channel,
            Conversation.language,
            Conversation.customer_id,
            Conversation.created_at,
        ).where(Conversation.created_at >= scope.start, Conversation.created_at < scope.end)
        if scope.channel is not None:
            query = query.where(Conversation.channel == scope.channel)
        if scope.language is not None:
            query = query.where(Conversation.language == scope.language)
        if scope.by_handoff:
            query = query.where(
                exists().where(Handoff.conversation_id == Conversation.id, *counted_handoff(scope))
            )
        # PostgreSQL inlines it where it is used (instead of materializing it once): the
        # repeat contacts query runs a third faster; SQLite has no say
        return query.cte("scope").prefix_with("NOT MATERIALIZED", dialect="postgresql")

    @staticmethod
    def messages_since(scope: Scope) -> Column:
        """Messages of conversations created in the range are never older than its start: with
        this condition alone, the messages are grouped by conversation first and joined with
        the conversations after, which beats joining a million messages one by one."""
        return Message.created_at >= scope.start

    def facts(self, scope: Scope, conv: CTE) -> Subquery:
        """One row per conversation in scope: id, channel, language, day, customer_messages,
        answered, clarified, unknown (knowledge-base decisions), bot (the bot replied at least
        once: 0/1), handoffs (counted in scope), handed_off (0/1), contained (0/1)."""
        decision = self.decision()
        messages = (
            select(
                Message.conversation_id.label("cid"),
                count_if(Message.sender == "customer").label("customer_messages"),
                count_if(decision == "answer").label("answered"),
                count_if(decision == "clarify").label("clarified"),
                count_if(decision == "unknown").label("unknown"),
                func.max(case((Message.sender == "bot", 1), else_=0)).label("bot"),
            )
            .where(self.messages_since(scope))
            .group_by(Message.conversation_id)
            .subquery("m")
        )
        matching = and_(*counted_handoff(scope))
        handoffs = (
            select(
                Handoff.conversation_id.label("cid"),
                count_if(matching).label("handoffs"),
            )
            .join(conv, conv.c.id == Handoff.conversation_id)
            .where(Handoff.status != NOT_COUNTED)
            .group_by(Handoff.conversation_id)
            .subquery("h")
        )
        # nothing about a conversation is older than the conversation itself
        not_helpful = (
            select(Gap.conversation_key.label("key"))
            .where(Gap.reason == "not_helpful", Gap.created_at >= scope.start)
            .distinct()
            .subquery("not_helpful")
        )
        said_no = (
            select(Rating.conversation_id.label("cid"))
            .where(Rating.kind == "answer", Rating.score <= 2, Rating.created_at >= scope.start)
            .distinct()
            .subquery("said_no")
        )
        contained = and_(
            messages.c.bot == 1,
            messages.c.answered > 0,
            handoffs.c.cid.is_(None),
            not_helpful.c.key.is_(None),
            said_no.c.cid.is_(None),
        )
        return (
            select(
                conv.c.id,
                conv.c.channel,
                conv.c.language,
                self.day(conv.c.created_at).label("day"),
                func.coalesce(messages.c.customer_messages, 0).label("customer_messages"),
                func.coalesce(messages.c.answered, 0).label("answered"),
                func.coalesce(messages.c.clarified, 0).label("clarified"),
                func.coalesce(messages.c.unknown, 0).label("unknown"),
                func.coalesce(messages.c.bot, 0).label("bot"),
                func.coalesce(handoffs.c.handoffs, 0).label("handoffs"),
                case((handoffs.c.handoffs > 0, 1), else_=0).label("handed_off"),
                case((contained, 1), else_=0).label("contained"),
            )
            .select_from(conv)
            .outerjoin(messages, messages.c.cid == conv.c.id)
            .outerjoin(handoffs, handoffs.c.cid == conv.c.id)
            .outerjoin(not_helpful, not_helpful.c.key == conv.c.key)
            .outerjoin(said_no, said_no.c.cid == conv.c.id)
            .subquery("facts")
        )

    @staticmethod
    def fact_totals(facts: Subquery) -> list[Column]:
        """Aggregates of `facts` (for the whole scope or per group)."""
        return [
            func.count().label("conversations"),
            func.coalesce(func.sum(facts.c.customer_messages), 0).label("customer_messages"),
            func.coalesce(func.sum(facts.c.answered), 0).label("answered"),
            func.coalesce(func.sum(facts.c.clarified), 0).label("clarified"),
            func.coalesce(func.sum(facts.c.unknown), 0).label("unknown"),
            func.coalesce(func.sum(facts.c.bot), 0).label("bot_conversations"),
            func.coalesce(func.sum(facts.c.contained), 0).label("contained"),
            func.coalesce(func.sum(facts.c.handoffs), 0).label("handoffs"),
            func.coalesce(func.sum(facts.c.handed_off), 0).label("handed_off"),
        ]

    # -- people: handoffs and their times ----------------------------------------------------

    def handoff_times(self, scope: Scope, conv: CTE) -> CTE:
        """One row per counted handoff: id, conversation_id, agent_id, reason, channel,
        language, queue_wait (created -> claimed), first_response (created -> the first agent
        message in the conversation after it, until it was resolved), resolution (created ->
        resolved; resolved handoffs only), all in seconds or NULL."""
        first_reply = (
            select(func.min(Message.created_at))
            .where(
                Message.conversation_id == Handoff.conversation_id,
                Message.sender == "agent",
                Message.created_at >= Handoff.created_at,
                or_(Handoff.resolved_at.is_(None), Message.created_at <= Handoff.resolved_at),
            )
            .correlate(Handoff)
            .scalar_subquery()
        )
        return (
            select(
                Handoff.id,
                Handoff.conversation_id,
                Handoff.agent_id,
                Handoff.reason,
                conv.c.channel,
                conv.c.language,
                self.seconds(Handoff.claimed_at, Handoff.created_at).label("queue_wait"),
                self.seconds(first_reply, Handoff.created_at).label("first_response"),
                case(
                    (
                        Handoff.status == "resolved",
                        self.seconds(Handoff.resolved_at, Handoff.created_at),
                    ),
                ).label("resolution"),
            )
            .join(conv, conv.c.id == Handoff.conversation_id)
            .where(*counted_handoff(scope))
            .cte("times")
        )

    @staticmethod
    def percentiles(times: CTE, key: str | None = None) -> Select[Any]:
        """Per measure (queue_wait, first_response, resolution) and `key` (a column of `times`,
        or None for all): measure, key, count, median, p90 - linear interpolation between
        the closest ranks, the same numbers as PostgreSQL's percentile_cont."""
        group = times.c[key] if key else literal(None, String)
        values = union_all(
            *(
                select(
                    group.label("key"),
                    literal(measure, String).label("measure"),
                    times.c[measure].label("v"),
                ).where(times.c[measure].is_not(None))
                for measure in MEASURES
            )
        ).subquery("values")
        partition = [values.c.key, values.c.measure]
        ranked = select(
            values.c.key,
            values.c.measure,
            values.c.v,
            func.row_number().over(partition_by=partition, order_by=values.c.v).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        ).subquery("ranked")

        def percentile(numerator: int, denominator: int) -> Column:
            # 0-based position h = (n - 1) * p; value = v[floor h] + frac(h) * (v[floor h + 1]
            # - v[floor h]); integer arithmetic keeps it exact on both databases
            steps = (ranked.c.n - 1) * numerator
            low = steps // denominator
            frac = cast(steps % denominator, Float) / denominator
            at_low = func.max(case((ranked.c.rn == low + 1, ranked.c.v)))
            at_high = func.max(case((ranked.c.rn == low + 2, ranked.c.v)))
            return at_low + func.max(frac) * func.coalesce(at_high - at_low, 0.0)

        return select(
            ranked.c.measure,
            ranked.c.key,
            func.count().label("count"),
            percentile(1, 2).label("median"),
            percentile(9, 10).label("p90"),
        ).group_by(ranked.c.measure, ranked.c.key)

    # -- satisfaction ------------------------------------------------------------------------

    def csat(self, scope: Scope, conv: CTE) -> Subquery:
        """One row per `csat` rating in scope: score, comment, created_at, conversation_id,
        channel, language, agent_id, reason (of its handoff)."""
        query = (
            select(
                Rating.score,
                Rating.comment,
                Rating.created_at,
                Rating.conversation_id,
                conv.c.channel,
                conv.c.language,
                Handoff.agent_id,
                Handoff.reason,
            )
            .join(conv, conv.c.id == Rating.conversation_id)
            .outerjoin(Handoff, Handoff.id == Rating.handoff_id)
            .where(Rating.kind == "csat")
        )
        if scope.by_handoff:
            query = query.where(*counted_handoff(scope))
        return query.subquery("csat")

    @staticmethod
    def csat_totals(ratings: Subquery) -> list[Column]:
        return [
            func.count().label("ratings"),
            count_if(ratings.c.score >= 4).label("satisfied"),
        ]

    # -- repeat contact ----------------------------------------------------------------------

    def topics(self, conv: CTE, scope: Scope, listing: bool = False) -> Subquery:
        """Each customer message in scope that has a topic - the article answered, else the
        first candidate article (`kb_article`), else its gap's cluster (`cluster_id`) - with
        customer_id, created_at and the time of the previous message from the same customer
        about the same topic (`prev_at`). With `listing`, also channel, conversation_id and
        the previous message's conversation (`prev_conversation_id`); without, the rows stay
        narrow for the sort."""
        customer = (Message.sender == "customer", self.messages_since(scope))
        listed = [conv.c.channel, Message.conversation_id] if listing else []
        with_article = (
            select(
                conv.c.customer_id,
                *listed,
                Message.created_at,
                Message.kb_article,
                literal(None, Integer).label("cluster_id"),
            )
            .join(conv, conv.c.id == Message.conversation_id)
            .where(*customer, Message.kb_article.is_not(None))
        )
        with_gap = (
            select(
                conv.c.customer_id,
                *listed,
                Message.created_at,
                literal(None, String).label("kb_article"),
                Gap.cluster_id,
            )
            .join(conv, conv.c.id == Message.conversation_id)
            .join(Gap, Gap.message_id == Message.id)
            .where(*customer, Message.kb_article.is_(None), Gap.cluster_id.is_not(None))
        )
        tagged = union_all(with_article, with_gap).subquery("tagged")
        order = tagged.c.created_at  # same-time messages: either order gives the same gaps
        partition = (tagged.c.customer_id, tagged.c.kb_article, tagged.c.cluster_id)

        def previous(column: Any, label: str) -> Column:
            return func.lag(column).over(partition_by=partition, order_by=order).label(label)

        columns = [
            tagged.c.customer_id,
            tagged.c.kb_article,
            tagged.c.cluster_id,
            tagged.c.created_at,
            previous(tagged.c.created_at, "prev_at"),
        ]
        if listing:
            columns += [
                tagged.c.channel,
                tagged.c.conversation_id,
                previous(tagged.c.conversation_id, "prev_conversation_id"),
            ]
        return select(*columns).subquery("topics")

    @staticmethod
    def topic(topics: Subquery) -> Column:
        """'article:<id>' or 'gap:<cluster id>'."""
        return func.coalesce(
            literal("article:") + topics.c.kb_article,
            literal("gap:") + cast(topics.c.cluster_id, String),
        )

    def repeat_totals(self, topics: Subquery) -> Select[Any]:
        """customers (with a topic) and repeated (of them, with a repeat contact)."""
        per_customer = (
            select(
                topics.c.customer_id,
                func.max(case((self.is_repeat(topics), 1), else_=0)).label("repeated"),
            )
            .group_by(topics.c.customer_id)
            .subquery("per_customer")
        )
        return select(
            func.count().label("customers"),
            func.coalesce(func.sum(per_customer.c.repeated), 0).label("repeated"),
        )

    def repeat_gap(self, topics: Subquery) -> Column:
        return self.seconds(topics.c.created_at, topics.c.prev_at)

    def is_repeat(self, topics: Subquery) -> Column:
        if self.sqlite:
            gap = self.repeat_gap(topics)
            return and_(gap > REPEAT_AFTER, gap <= REPEAT_WITHIN)
        later, earlier = topics.c.created_at, topics.c.prev_at  # timestamps compare fastest
        return and_(
            later > earlier + timedelta(seconds=REPEAT_AFTER),
            later <= earlier + timedelta(seconds=REPEAT_WITHIN),
        )

    # -- lists -------------------------------------------------------------------------------

    def comments(self, scope: Scope, conv: CTE, limit: int) -> Select[Any]:
        """Ratings of any kind with a comment, newest first, with the conversation's channel and
        language and the handoff's agent (username) and reason."""
        query = (
            select(
                Rating.created_at,
                Rating.score,
                Rating.comment,
                conv.c.channel,
                conv.c.language,
                Agent.username.label("agent"),
                Handoff.reason,
                Rating.conversation_id,
            )
            .join(conv, conv.c.id == Rating.conversation_id)
            .outerjoin(Handoff, Handoff.id == Rating.handoff_id)
            .outerjoin(Agent, Agent.id == Handoff.agent_id)
            .where(Rating.comment.is_not(None), Rating.comment != "")
            .order_by(Rating.created_at.desc(), Rating.id.desc())
            .limit(limit)
        )
        if scope.by_handoff:
            query = query.where(*counted_handoff(scope))
        return query

    def articles(self, conv: CTE, scope: Scope, limit: int) -> Select[Any]:
        """Per article and conversation language: answers (customer messages it answered), yes
        and no ("did this answer your question?"); the most used first."""
        article = Message.kb_article
        answers = (
            select(
                article.label("article_id"),
                conv.c.language,
                literal(1).label("answers"),
                literal(0).label("yes"),
                literal(0).label("no"),
            )
            .join(conv, conv.c.id == Message.conversation_id)
            .where(
                Message.created_at >= scope.start,
                self.decision() == "answer",
                article.is_not(None),
            )
        )
        feedback = (
            select(
                Rating.article_id,
                conv.c.language,
                literal(0).label("answers"),
                case((Rating.score >= 4, 1), else_=0).label("yes"),
                case((Rating.score <= 2, 1), else_=0).label("no"),
            )
            .join(conv, conv.c.id == Rating.conversation_id)
            .where(Rating.kind == "answer", Rating.article_id.is_not(None))
        )
        both = union_all(answers, feedback).subquery("uses")
        return (
            select(
                both.c.article_id,
                both.c.language,
                func.sum(both.c.answers).label("answers"),
                func.sum(both.c.yes).label("yes"),
                func.sum(both.c.no).label("no"),
            )
            .group_by(both.c.article_id, both.c.language)
            .order_by(func.sum(both.c.answers).desc(), both.c.article_id, both.c.language)
            .limit(limit)
        )
