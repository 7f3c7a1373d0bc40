"""Composes the hub's parts from settings; the web app and the CLI both start from here."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from rasa_sdk.executor import ActionExecutor

from actions import build_executor
from bot.cluster.events import make_bus
from bot.cluster.lease import make_leader, make_locks, namespace
from bot.console.agent_events import AgentEvents
from bot.console.agent_profiles import AgentProfiles
from bot.console.auth import AgentDirectory
from bot.console.presence import Presence
from bot.conversation.outbox import Outbox
from bot.conversation.router import Router
from bot.conversation.surveys import Surveys
from bot.handoff.claims import Claims
from bot.handoff.context import HandoffViews
from bot.handoff.handoffs import Handoffs
from bot.handoff.hours import load_hours
from bot.handoff.queue_status import QueueStatus
from bot.handoff.routing import FREES_CAPACITY, AutoAssigner
from bot.knowledge.gap_signals import GapSignals
from bot.knowledge.gaps import GapBook
from bot.knowledge.store import KnowledgeStore
from bot.language import LanguageDetection
from bot.rasa.client import RasaClient
from bot.rasa.process import RasaSupervisor, with_tokens
from bot.reports.numbers import Reports
from bot.settings import Settings
from bot.slack_desk.desk import SlackDesk
from bot.slack_desk.store import DeskStore
from bot.storage.db import Database
from bot.storage.repo import Store
from channels.base import Channel
from channels.registry import CHANNELS
from knowledge_base.service import KnowledgeBase
from knowledge_base.watcher import ArticleWatcher

log = logging.getLogger(__name__)


def knowledge_base(settings: Settings, articles_dir: Path | None = None) -> KnowledgeBase:
    """The knowledge base as the settings describe it (articles, index, embedding model)."""
    return KnowledgeBase(
        articles_dir or settings.articles_dir,
        settings.index_dir,
        settings.embedding_model,
        settings.default_language,
        quantize=settings.embedding_quantize,
        runtime="torch" if settings.embedding_runtime == "torch" else "onnx",
        onnx_dir=settings.onnx_dir,
        models=settings.embedding_models,
        languages=settings.supported_languages,
    )


class Hub:
    """The hub's parts, each given what it needs when it is built. What happens to a
    conversation goes through one event bus (`self.bus`): the consoles' and widgets' sockets,
    the Slack desk, auto-assignment and the gap log subscribe to it; side effects that must
    happen once in a cluster of hubs subscribe through `self.leader.only`."""

    def __init__(self, settings: Settings) -> None:
        settings = with_tokens(settings)  # the secrets shared with Rasa
        self.settings = settings
        self.db = Database(settings.db_url)
        self.store = Store(self.db)
        # several hubs (REDIS_URL): one message of a conversation at a time across them, and
        # the background work below on one hub only; without Redis both are in memory
        cluster = namespace(settings.db_url)  # the hubs on this database
        self.locks = make_locks(settings.redis_url, cluster)
        self.leader = make_leader(settings.redis_url, "background", cluster)
        once = self.leader.only
        # what happens to conversations, for the consoles and widget sockets on every hub
        self.bus = make_bus(settings.redis_url, cluster)
        # the channels by name, filled below once built (they need the router, which needs
        # the outbox that sends through them)
        self.channels: dict[str, Channel] = {}
        self.outbox = Outbox(self.bus, self.channels)
        self.kb = knowledge_base(settings)
        self.kb_watcher = ArticleWatcher(self.kb, settings.kb_watch_seconds)  # live reload
        self.rasa = RasaClient(
            settings.rasa_url, settings.rasa_timeout, settings.rasa_token, settings.rasa_wait_cap
        )
        self.supervisor = RasaSupervisor(settings, self.rasa) if settings.rasa_managed else None
        self.events = AgentEvents(bus=self.bus)
        self.agents = AgentDirectory(self.db)
        self.gaps = GapBook(self.db, self.kb)  # the gap log and article usage
        gap_signals = GapSignals(self.gaps)
        self.bus.subscribe(once(gap_signals.on_handoff), ["handoff_queued"])
        self.surveys = Surveys(
            self.db,
            settings.survey_every_days,
            settings.nps_every_days,
            self.gaps,
            bus=self.bus,
            on_rating=gap_signals.on_rating,
        )
        self.hours = load_hours(settings.teams_file)  # opening hours per team
        queue = QueueStatus(self.db, lambda: len(self.events.online()), hours=self.hours)
        claims = Claims(self.db, self.store, self.bus, self.outbox.deliver, queue)
        # routing: languages, skills, capacity; online agents get what waits (ROUTING_AUTO_ASSIGN)
        self.profiles = AgentProfiles(self.db, settings.routing_max_open)
        self.assigner = AutoAssigner(
            self.db,
            claims,
            self.events.online,
            self.hours,
            settings.routing_max_open,
            enabled=settings.routing_auto_assign,
        )
        self.bus.subscribe(once(self.assigner.on_event), FREES_CAPACITY)
        self.handoffs = Handoffs(
            self.db,
            self.store,
            self.rasa,
            self.surveys,
            queue,
            bus=self.bus,
            deliver=self.outbox.deliver,
            signal=self.outbox.signal,
            agents_online=self.events.anyone_online,
            claims=claims,
            auto_assign=self.assigner.assign_new,
        )
        # "Ben is viewing"; an agent who connects gets what waits
        self.presence = Presence(self.events.broadcast, on_arrival=self.assigner.agent_arrived)
        self.views = HandoffViews(self.db)
        self.desk: SlackDesk | None = None  # agents on Slack, when its settings are there
        if SlackDesk.enabled(settings):
            desk_store = DeskStore(self.db)
            self.desk = SlackDesk(
                settings, self.handoffs, self.views, desk_store, self.bus, self.leader
            )
        self.router = Router(
            self.store,
            self.rasa,
            self.handoffs,
            settings.max_message_chars,
            settings.frustration_threshold,
            LanguageDetection(settings.supported_languages, settings.default_language),
            self.surveys,
            self.locks,
            deliver=self.outbox.deliver,
        )
        self.writers = KnowledgeStore(self.db, settings.default_language)  # drafts, history
        self.reports = Reports(self.db)  # the reports' numbers, computed in SQL
        self.executor: ActionExecutor = build_executor(self.kb, self.gaps)
        self.channels.update(
            (name, cls(self.router, settings, leader=self.leader))
            for name, cls in CHANNELS.items()
            if cls.enabled(settings)
        )
        self._background: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        await self.db.migrate()
        self._background.append(asyncio.create_task(self.kb.load(), name="kb-load"))
        self.kb_watcher.start()
        if self.supervisor:
            await self.supervisor.start()
        for channel in self.channels.values():
            await channel.start()
        if self.desk:
            await self.desk.start()
        # on one hub of several (the leader): answering stored messages, marking gaps covered,
        # handing out the queue of a team that opens
        await self.bus.start()
        if self.settings.redis_url:  # other hubs learn who is online here
            self._background.append(asyncio.create_task(self.events.heartbeat(), name="presence"))
        await self.leader.start()
        for job, name in (
            (self._retry_loop, "retry-pending"),
            (self.gaps.watch_coverage, "gap-coverage"),
            (self.assigner.tick, "routing"),
        ):
            self._background.append(asyncio.create_task(self.leader.run(job), name=name))

    async def _retry_loop(self, every: float = 5.0) -> None:
        """Answer what is still unanswered: messages stored by a hub that died or lost its
        database (at start, then every few seconds), and messages that arrived while Rasa was
        down, once it is back."""
        while True:
            try:
                healthy = await self.rasa.healthy()
                # while Rasa starts, a message waits up to the time a turn may take in Rasa;
                # then it gets the honest "technical problem" reply and a handoff
                wait = every if healthy else max(every, self.settings.rasa_wait_cap)
                await self.router.recover(older_than=timedelta(seconds=wait))
                if healthy:
                    await self.router.retry_pending()
            except Exception as exc:  # the database or Rasa is away: next round
                log.warning("answering stored messages failed: %s", exc)
            await asyncio.sleep(every)

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.leader.stop()
        await self.locks.close()
        await self.bus.stop()
        await self.kb_watcher.stop()
        await self.kb.close()
        for channel in self.channels.values():
            await channel.stop()
        if self.desk:
            await self.desk.stop()
        if self.supervisor:
            await self.supervisor.stop()
        await self.rasa.close()
        await self.db.close()

    async def health(self) -> dict[str, Any]:
        rasa_ok = await self.rasa.healthy()
        db_ok = await self.db.ping()
        kb = self.kb.status()
        return {
            "status": "ok" if rasa_ok and db_ok and kb["health"] == "ok" else "degraded",
            "hub": {"database": "ok" if db_ok else "unreachable", "channels": list(self.channels)},
            "rasa": {
                "url": self.settings.rasa_url,
                "reachable": rasa_ok,
                "managed": self.supervisor is not None,
                "process": self.supervisor.state if self.supervisor else None,
                "restarts": self.supervisor.restarts if self.supervisor else None,
            },
            "index": kb,
        }
