"""The Slack agent desk: agents claim, answer and resolve handoffs from one Slack channel.

Its own Slack app (the company's workspace; not the customer-facing Slack channel), served by
slack-bolt's `AsyncApp` on `POST /slack/desk/events` (Events API and interactivity; bolt checks
every request's signature). Each queued handoff becomes one message in the desk channel with a
Claim button; the conversation then runs in that message's thread. The desk listens to the
handoff events on the event bus, so claims, replies and resolutions made in the web console
show up in Slack too, and to low satisfaction scores ("rating" events), which it posts into
the desk channel as alerts (updated when the customer's comment arrives). Slack calls run in one
background worker, in order: a slow or failing Slack never blocks the console, and errors are
logged.

With several hubs, every hub serves Slack's requests (a button, a reply in a thread), but only
the hub holding the lease (bot/cluster/lease.py) talks to the desk channel: its worker runs under
`Leader.run` and only it takes the bus's events, so each is posted once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request, Response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_http
from bot.cluster.events import HANDOFF_KINDS, Event, LocalBus
from bot.cluster.lease import Leader
from bot.conversation.surveys import LowScore
from bot.handoff.claims import HandoffError
from bot.handoff.context import HandoffViews
from bot.handoff.handoffs import Handoffs
from bot.settings import Settings
from bot.slack_desk.render import (
    CLAIM,
    RESOLVE,
    RESOLVE_QUIET,
    escape,
    from_slack,
    handoff_message,
    low_score_message,
    thread_line,
)
from bot.slack_desk.store import DeskStore, is_slack_agent
from bot.storage.models import Agent

log = logging.getLogger(__name__)

NOTE_PREFIX = "note:"
NOT_YOURS = (
    "Only {agent}, who claimed this conversation, can answer the customer here. "
    "Start your message with `note:` to leave a private note instead."
)
CLAIM_FIRST = (
    "Nobody has claimed this conversation yet: press *Claim* first to answer the customer."
)
CLOSED = "This conversation is already back with the bot; your message was not sent."
NOTE_SAVED = "Private note saved (the customer does not see it)."
SEEN_LIMIT = 1000  # Slack re-sends events it thinks were missed: remember the last messages
ALERTS_REMEMBERED = 1000  # low-score alerts whose message is updated when the comment comes


class SlackDesk:
    @staticmethod
    def enabled(settings: Settings) -> bool:
        return bool(
            settings.slack_desk_bot_token
            and settings.slack_desk_signing_secret
            and settings.slack_desk_channel
        )

    def __init__(
        self,
        settings: Settings,
        handoffs: Handoffs,
        views: HandoffViews,
        store: DeskStore,
        bus: LocalBus,
        leader: Leader,
    ) -> None:
        self.channel = settings.slack_desk_channel
        self.handoffs = handoffs
        self.views = views
        self.store = store
        self.client = AsyncWebClient(
            token=settings.slack_desk_bot_token, base_url=settings.slack_api_url, timeout=10
        )
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_desk_signing_secret,
            name="supportbot-desk",
            logger=log,
        )
        self.app.action(CLAIM)(self._on_claim)
        self.app.action(RESOLVE)(self._on_resolve)
        self.app.action(RESOLVE_QUIET)(self._on_resolve_quiet)
        self.app.event("message")(self._on_message)
        self.signing_secret = settings.slack_desk_signing_secret
        self.leader = leader
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._alerts: OrderedDict[int, tuple[str, str]] = OrderedDict()  # rating -> (ch, ts)
        self._worker: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        bus.subscribe(leader.only(self.on_event), [*HANDOFF_KINDS, "rating"])

    def routes(self) -> APIRouter:
        router = APIRouter()

        @router.post("/slack/desk/events", tags=["agents"], include_in_schema=False)
        async def events(request: Request) -> Response:
            """Slack's Events API and interactivity for the agent desk (signed by Slack)."""
            bolt_request = await slack_http.bolt_request(request, self.signing_secret)
            if isinstance(bolt_request, Response):
                return bolt_request
            return slack_http.http_response(await self.app.async_dispatch(bolt_request))

        return router

    async def start(self) -> None:
        """The worker runs while this hub leads (and catches up each time it starts leading)."""
        self._worker = asyncio.create_task(self.leader.run(self._work), name="slack-desk")

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def on_event(self, event: Event) -> None:
        """A handoff event or a low score, from the bus: returns at once, the worker talks to
        Slack (a low score, or its comment, becomes an alert in the channel)."""
        self._events.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every handoff event so far has reached Slack (or failed and was logged)."""
        await self._caught_up.wait()
        await self._events.join()

    # --- handoff events -> Slack ------------------------------------------------------------

    async def _catch_up(self) -> None:
        """Post open handoffs that have no desk message yet (queued while the desk was off or
        Slack was unreachable) and refresh the others (the console may have changed them)."""
        for item in await self.views.queue():
            try:
                posted = await self.store.message(item["id"])
                await (
                    self._update(posted.channel, posted.ts, item["id"])
                    if posted
                    else self._post(item["id"])
                )
            except SlackApiError as exc:
                log.error("Slack desk: %s for handoff %s", exc.response.get("error"), item["id"])

    async def _work(self) -> None:
        self._caught_up.clear()
        try:
            await self._catch_up()
        except Exception:
            log.exception("Slack desk: could not catch up with the open handoffs")
        self._caught_up.set()
        while True:
            event = await self._events.get()
            try:
                await self._apply(event)
            except SlackApiError as exc:
                log.error("Slack desk: %s for %s", exc.response.get("error"), event)
            except Exception:
                log.exception("Slack desk: could not show %s", event)
            finally:
                self._events.task_done()

    async def _apply(self, event: Event) -> None:
        if event.kind == "rating":
            alert = LowScore.from_event(event)
            if alert is not None:
                await self._alert(alert)
            return
        handoff_id = event.handoff_id
        if handoff_id is None:
            return
        posted = await self.store.message(handoff_id)
        if event.kind == "handoff_queued":
            if posted is None:
                await self._post(handoff_id)
            return
        if posted is None:
            log.debug("Slack desk: handoff %s has no desk message", handoff_id)
            return
        text = str(event.data.get("text") or "")
        if event.kind == "customer_message":
            item = await self.views.item(handoff_id)
            who = item["customer_name"] if item else "Customer"
            await self._in_thread(posted.channel, posted.ts, thread_line(who, text))
        elif event.kind == "agent_message":
            if not is_slack_agent(event.agent):  # a Slack agent's reply is in the thread already
                name = await self.store.display_name(event.agent) or "Agent"
                line = thread_line(f"{name} (web console)", text)
                await self._in_thread(posted.channel, posted.ts, line)
        else:  # claimed, transferred, resolved, withdrawn: show the handoff as it is now
            await self._update(posted.channel, posted.ts, handoff_id)

    async def _update(self, channel: str, ts: str, handoff_id: int) -> None:
        context = await self.views.context(handoff_id)
        if context:
            text, blocks = await self._render(context)
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def _render(self, context: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        agent = await self.store.display_name(context["handoff"]["agent"])
        return handoff_message(context, agent)

    async def _post(self, handoff_id: int) -> None:
        context = await self.views.context(handoff_id)
        if context is None:
            return
        text, blocks = await self._render(context)
        answer = await self.client.chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False
        )
        await self.store.save_message(handoff_id, str(answer["channel"]), str(answer["ts"]))

    async def _alert(self, alert: LowScore) -> None:
        """Post the alert once; when the comment arrives, update that same message (a new one
        if it is no longer known, e.g. after a restart)."""
        text, blocks = low_score_message(alert)
        known = self._alerts.get(alert.rating_id)
        if known:
            await self.client.chat_update(channel=known[0], ts=known[1], text=text, blocks=blocks)
            return
        answer = await self.client.chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False
        )
        self._alerts[alert.rating_id] = (str(answer["channel"]), str(answer["ts"]))
        while len(self._alerts) > ALERTS_REMEMBERED:
            self._alerts.popitem(last=False)

    async def _in_thread(self, channel: str, ts: str, text: str) -> None:
        await self.client.chat_postMessage(
            channel=channel, thread_ts=ts, text=text, unfurl_links=False, unfurl_media=False
        )

    # --- Slack -> handoffs ------------------------------------------------------------------

    async def _agent(self, user_id: str) -> Agent:
        """The agent account of a Slack user (created on first use, named as in Slack)."""
        known = await self.store.agent(user_id)
        if known:
            return known
        name = user_id
        try:
            found = (await self.client.users_info(user=user_id))["user"]
            profile = found.get("profile") or {}
            name = profile.get("display_name") or found.get("real_name") or found["name"]
        except SlackApiError as exc:
            log.warning("Slack desk: users.info %s: %s", user_id, exc.response.get("error"))
        return await self.store.provision(user_id, name)

    async def _tell(self, user_id: str, text: str, thread_ts: str | None = None) -> None:
        try:
            await self.client.chat_postEphemeral(
                channel=self.channel, user=user_id, text=escape(text), thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.error("Slack desk: chat.postEphemeral: %s", exc.response.get("error"))

    async def _button(self, ack: Any, body: dict[str, Any]) -> tuple[int, Agent] | None:
        await ack()
        if (body.get("channel") or {}).get("id") != self.channel:
            log.warning("Slack desk: ignoring a button outside the desk channel")
            return None
        try:
            handoff_id = int(body["actions"][0]["value"])
            user = str(body["user"]["id"])
        except (KeyError, IndexError, TypeError, ValueError):
            log.warning("Slack desk: ignoring a button without a handoff id or user")
            return None
        return handoff_id, await self._agent(user)

    async def _on_claim(self, ack: Any, body: dict[str, Any]) -> None:
        pressed = await self._button(ack, body)
        if pressed:
            try:
                await self.handoffs.claim(*pressed)  # the "claimed" event updates the message
            except HandoffError as exc:
                await self._tell(body["user"]["id"], f"Not claimed: {exc}.")

    async def _on_resolve(self, ack: Any, body: dict[str, Any]) -> None:
        await self._resolve(ack, body, survey=True)

    async def _on_resolve_quiet(self, ack: Any, body: dict[str, Any]) -> None:
        """Resolve without survey: the customer is not asked for a rating."""
        await self._resolve(ack, body, survey=False)

    async def _resolve(self, ack: Any, body: dict[str, Any], survey: bool) -> None:
        # (bolt passes listeners only the arguments it knows by name: hence two of them)
        pressed = await self._button(ack, body)
        if pressed:
            handoff_id, agent = pressed
            try:
                await self.handoffs.resolve(handoff_id, agent, "resolved in Slack", survey)
            except HandoffError as exc:
                await self._tell(body["user"]["id"], f"Not resolved: {exc}.")

    def _first_time(self, channel: str, ts: str) -> bool:
        if (channel, ts) in self._seen:
            return False
        self._seen[(channel, ts)] = None
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    async def _on_message(self, event: dict[str, Any]) -> None:
        """A reply in a handoff's thread: the claiming agent's goes to the customer, `note:`
        makes a private note, anything else gets a hint only its writer sees."""
        channel, thread, user = event.get("channel"), event.get("thread_ts"), event.get("user")
        text = (event.get("text") or "").strip()
        if event.get("subtype") or event.get("bot_id") or channel != self.channel:
            return
        if not (thread and user and text) or thread == event.get("ts"):
            return
        if not self._first_time(channel, str(event.get("ts"))):
            return
        handoff_id = await self.store.handoff_for(channel, thread)
        if handoff_id is None:
            return
        agent = await self._agent(user)
        text = from_slack(text)
        if text.lower().startswith(NOTE_PREFIX):
            note = text[len(NOTE_PREFIX) :].strip()
            if note:
                await self.handoffs.add_note(handoff_id, agent, note)
                await self._tell(user, NOTE_SAVED, thread)
            return
        handoff, _ = await self.handoffs.get(handoff_id)
        if handoff.status == "claimed" and handoff.agent_id == agent.id:
            try:
                await self.handoffs.reply(handoff_id, agent, text)
            except HandoffError as exc:
                await self._tell(user, f"Not sent: {exc}.", thread)
        elif handoff.status == "queued":
            await self._tell(user, CLAIM_FIRST, thread)
        elif handoff.status == "claimed":
            holder = await self.views.item(handoff_id)
            name = await self.store.display_name(holder["agent"] if holder else None)
            await self._tell(user, NOT_YOURS.format(agent=name or "another agent"), thread)
        else:
            await self._tell(user, CLOSED, thread)
