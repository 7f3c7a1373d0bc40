"""The message path: store first, then route to the conversation's owner, then deliver.

Nothing here knows about Telegram, Slack or the web widget: channels only translate.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cluster.lease import Locks
from bot.conversation import frustration
from bot.conversation.surveys import Surveys, is_survey_button
from bot.handoff.claims import Deliver
from bot.handoff.handoffs import Handoffs
from bot.handoff.states import WITH_PEOPLE, State, Status
from bot.i18n import t
from bot.language import LanguageDetection
from bot.messages import IncomingMessage, OutgoingMessage, human_button
from bot.rasa.client import RasaClient, RasaUnavailable
from bot.storage.db import storage_errors
from bot.storage.models import Conversation, Message, utcnow
from bot.storage.repo import Store

log = logging.getLogger(__name__)

RASA_DOWN = t("rasa_down")  # English; customers get theirs with t(key, language)
STILL_WAITING = t("still_waiting")
TOO_LONG = t("too_long")


class InvalidMessage(ValueError):
    """The message cannot be processed at all (e.g. empty); nothing was stored."""


class TurnInFlight(RuntimeError):
    """The turn was sent to Rasa a moment ago and may still be in its hands: not sent again
    until Rasa's tracker shows it or enough time has passed."""


class Router:
    def __init__(
        self,
        store: Store,
        rasa: RasaClient,
        handoffs: Handoffs,
        max_chars: int = 4000,
        frustration_threshold: float = 0.7,
        languages: LanguageDetection | None = None,
        surveys: Surveys | None = None,
        locks: Locks | None = None,
        deliver: Deliver | None = None,
    ) -> None:
        self.store = store
        self.rasa = rasa
        self.handoffs = handoffs
        self.surveys = surveys or handoffs.surveys  # answers to surveys never reach Rasa
        self.max_chars = max_chars
        self.frustration_threshold = frustration_threshold
        self.languages = languages  # None: the channel's language is used as given
        # one message of a conversation at a time, on this hub (and across hubs with Redis)
        self.locks = locks or Locks()
        self.deliver = deliver  # push to a channel (late replies: bot/conversation/outbox.py)

    async def handle(self, msg: IncomingMessage, replay: bool = False) -> list[OutgoingMessage]:
        """Store the message, get the replies, store them and return them to the channel.
        `replay`: a message sent again that was answered gets its answer again (the web chat's
        client resends when a response was lost; Telegram and Slack redeliver updates the
        customer was answered for already, so they get nothing twice).

        Raises InvalidMessage (nothing stored) or StorageUnavailable (the database is down; a
        message stored before that is answered later, by `recover`)."""
        if not msg.text or not msg.text.strip():
            raise InvalidMessage("The message is empty.")
        with storage_errors():
            async with self.locks.hold(msg.conversation_key):
                too_long = len(msg.text) > self.max_chars
                stored = await self.store.store_incoming(
                    msg, "rejected" if too_long else "received", self.max_chars
                )
                conversation, message = stored.conversation, stored.message
                if not stored.created:
                    return await self._again(conversation, message, replay)
                await self._choose_language(conversation, msg)
                if too_long:
                    language = conversation.language
                    text = t("too_long", language, length=len(msg.text), limit=self.max_chars)
                    return await self._reply(conversation, [self._system(text)])
                return await self._route(conversation, message, bool(msg.attachment))

    async def _again(
        self, conversation: Conversation, message: Message, replay: bool = False
    ) -> list[OutgoingMessage]:
        """A resent message (the same vendor id): answered now if it never was."""
        language = conversation.language
        if message.status == "received":  # stored by a hub that died or lost its database
            try:
                return await self._route(conversation, message)
            except TurnInFlight:  # sent to Rasa a moment ago: its answer is pushed later
                return [self._system(t("still_waiting", language))]
        if message.status == "pending":  # waits for Rasa; the customer hears it again
            return [self._system(t("still_waiting", language))]
        if message.status == "rejected" and message.length:
            return [
                self._system(t("too_long", language, length=message.length, limit=self.max_chars))
            ]
        return await self.store.replies_to(message) if replay else []  # answered already

    async def _route(
        self, conversation: Conversation, message: Message, attachment: bool = False
    ) -> list[OutgoingMessage]:
        """Where a stored customer message goes: a person, a fixed reply or the bot."""
        if conversation.state in WITH_PEOPLE:
            return await self._to_agents(conversation, message)
        if attachment:  # the bot reads only text; a person would see it
            text = t("text_only", conversation.language)
            unsupported = (message.id, "unsupported")
            return await self._reply(conversation, [self._system(text)], unsupported)
        answered = await self.surveys.reply_to(conversation, message)
        if answered is not None:
            return await self._reply(conversation, answered)
        return await self._to_bot(conversation, message)

    @staticmethod
    def _system(text: str) -> OutgoingMessage:
        return OutgoingMessage(text, sender="system")

    async def _choose_language(self, conversation: Conversation, msg: IncomingMessage) -> None:
        """The conversation keeps its language unless the text is clearly in another supported
        one; without a language from the channel or the conversation, the text decides."""
        if self.languages is None or is_survey_button(msg.text):
            return  # a survey button's payload says nothing about the customer's language
        chosen = await asyncio.to_thread(
            self.languages.choose, msg.text[:1000], conversation.language, msg.language
        )
        if chosen != conversation.language:
            await self.store.update_conversation(conversation.id, language=chosen)
            conversation.language = chosen

    async def _reply(
        self,
        conversation: Conversation,
        replies: list[OutgoingMessage],
        answered: tuple[int, str] | None = None,
    ) -> list[OutgoingMessage]:
        """Store `replies` (and the new status of the message they answer, at once)."""
        await self.store.store_outgoing(conversation.id, replies, answered)
        return replies

    async def _to_agents(
        self, conversation: Conversation, message: Message
    ) -> list[OutgoingMessage]:
        """A person owns the conversation. If it is only queued because Rasa is down, the
        message also waits for the bot, whichever answers first, and the customer is told."""
        handoff = await self.handoffs.open_for(conversation.id)
        waits_for_bot = bool(
            handoff and handoff.reason == "bot_error" and handoff.status == Status.QUEUED
        )
        await self.store.set_status(message.id, "pending" if waits_for_bot else "to_agent")
        if handoff:  # the agents see it live
            await self.handoffs.customer_wrote(handoff.id, conversation, message)
        if not waits_for_bot:  # the person answers; a queued customer hears where they stand
            ack = await self.handoffs.acknowledge(conversation, message.text) if handoff else None
            return await self._reply(conversation, [ack]) if ack else []
        waiting = t("still_waiting", conversation.language)
        return await self._reply(conversation, [self._system(waiting)])

    async def _to_bot(self, conversation: Conversation, message: Message) -> list[OutgoingMessage]:
        try:
            return await self._answer(conversation, message)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for %s: %s", conversation.key, exc)
            await self.store.set_status(message.id, "pending")
            await self.handoffs.request(conversation, "bot_error", 0.0, {"error": str(exc)})
            down = t("rasa_down", conversation.language)
            return await self._reply(conversation, [self._system(down)])

    async def _ask_rasa(
        self, conversation: Conversation, message: Message
    ) -> list[OutgoingMessage]:
        """Rasa's replies to the message, which reaches Rasa once at most: a message sent
        before gets the replies Rasa's tracker recorded for it instead of being sent again.

        One that Rasa's tracker does not show yet is in doubt for a while: a hub that gave up
        on a slow Rasa ("pending") waited `max_wait` already, so Rasa may take as long again;
        a hub that died mid-turn ("received": whoever handles it now holds the conversation's
        lock, so its sender is no longer waiting) leaves only Rasa's own work on it, which a
        Rasa answering within `timeout` has finished twice over."""
        if message.rasa_sent_at is not None:
            earlier = await self.rasa.replies_to(conversation.key, message.id)
            if earlier is not None:
                log.info("replies to message %s rebuilt from Rasa's tracker", message.id)
                return earlier
            sent = message.rasa_sent_at
            sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
            gave_up = message.status == "pending"
            doubt = 2 * (self.rasa.max_wait if gave_up else self.rasa.timeout)
            if utcnow() - sent < timedelta(seconds=doubt):
                raise TurnInFlight(f"message {message.id} may still be in Rasa")
        sent_at = datetime.now(UTC)
        await self.store.mark_sent(message.id, sent_at)
        message.rasa_sent_at = sent_at
        metadata = {**self._metadata(conversation), "message_id": message.id}
        try:
            return await self.rasa.send(conversation.key, message.text, metadata)
        except RasaUnavailable as exc:
            if not exc.delivered:  # Rasa never saw it: a retry sends it without asking
                await self.store.mark_sent(message.id, None)
                message.rasa_sent_at = None
            raise

    async def _answer(self, conversation: Conversation, message: Message) -> list[OutgoingMessage]:
        """Rasa's replies, with a handoff if one is due; raises RasaUnavailable untouched."""
        raw = await self._ask_rasa(conversation, message)
        replies, kb, wanted = self._interpret(raw)
        if not replies and wanted is None:
            # Rasa answered nothing (e.g. an action failed): never leave the customer in silence;
            # it counts as an unanswered turn, so a second one in a row hands off
            log.warning("Rasa sent no reply to a message in %s", conversation.key)
            replies, kb = [self._no_answer(conversation.language)], {"decision": "unknown"}
        assessment, unknown_streak = await self._assess(conversation, message, kb)
        reason = wanted
        if reason is None and assessment.score >= self.frustration_threshold:
            reason = "frustration"
        if reason is None and unknown_streak >= 2:
            reason = "unanswered"
        if reason:
            # the bot stops trying: drop its "I don't know" and keep real answers
            replies = [
                r
                for r in replies
                if not (r.custom or {}).get("kb", {}).get("decision") == "unknown"
            ]
            detail = {"signals": assessment.signals, "unknown_streak": unknown_streak}
            replies.append(
                await self.handoffs.request(conversation, reason, assessment.score, detail)
            )
        else:  # "did this answer your question?" on the answer
            replies = self.surveys.ask_about_answers(replies, message.id, conversation.language)
        return await self._reply(conversation, replies, answered=(message.id, "processed"))

    @staticmethod
    def _no_answer(language: str | None) -> OutgoingMessage:
        return OutgoingMessage(t("no_answer", language), [human_button(language)], sender="system")

    @staticmethod
    def _interpret(
        raw: list[OutgoingMessage],
    ) -> tuple[list[OutgoingMessage], dict[str, Any] | None, str | None]:
        """Replies to show, what the knowledge base tried, and a handoff the bot asked for."""
        replies: list[OutgoingMessage] = []
        kb: dict[str, Any] | None = None
        handoff: str | None = None
        for reply in raw:
            custom = dict(reply.custom or {})
            if "handoff" in custom:
                handoff = str((custom.pop("handoff") or {}).get("reason") or "requested")
            kb = custom.get("kb", kb)
            if reply.text or reply.buttons:
                replies.append(
                    OutgoingMessage(reply.text, reply.buttons, custom or None, reply.sender)
                )
        return replies, kb, handoff

    async def _assess(
        self, conversation: Conversation, message: Message, kb: dict[str, Any] | None
    ) -> tuple[frustration.Assessment, int]:
        """Record what the bot understood and tried; compute the frustration signals."""
        try:
            latest = await self.rasa.latest_message(conversation.key)
        except RasaUnavailable:
            latest = {}
        intent = (latest.get("intent") or {}) if isinstance(latest, dict) else {}
        earlier = await self.store.earlier_customer_messages(conversation.id, message.id)
        unknown_streak = 0
        if (kb or {}).get("decision") == "unknown":
            unknown_streak = 1
            for m in reversed(earlier):
                if (m.kb or {}).get("decision") != "unknown":
                    break
                unknown_streak += 1
        previous = earlier[-1] if earlier else None
        assessment = frustration.assess(
            message.text,
            intent.get("name"),
            [m.text for m in earlier],
            (previous.frustration or 0.0) if previous else 0.0,
            unknown_streak,
            after_answer=bool(previous and (previous.kb or {}).get("decision") == "answer"),
        )
        await self.store.annotate(
            message.id,
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
            kb=kb,
            frustration=assessment.score,
            signals=assessment.signals,
        )
        return assessment, unknown_streak

    @staticmethod
    def _metadata(conversation: Conversation) -> dict[str, Any]:
        return {
            "channel": conversation.channel,
            "language": conversation.language,
            "conversation": conversation.key,
            "customer_id": conversation.customer_id,
        }

    async def retry_pending(self) -> int:
        """Answer messages that arrived while Rasa was down and push the replies to the
        customer, unless a person has taken the conversation over meanwhile."""
        done = 0
        with storage_errors():
            for conversation, message in await self.store.pending():
                async with self.locks.hold(conversation.key):
                    if not await self.rasa.healthy():
                        return done
                    current = await self.store.conversation(conversation.key)
                    fresh = await self.store.message(message.id)
                    if current is None or fresh is None or fresh.status != "pending":
                        continue  # answered meanwhile
                    if current.state != State.BOT and not await self.handoffs.withdraw(current):
                        await self.store.set_status(message.id, "to_agent")
                        continue
                    try:
                        replies = await self._answer(current, fresh)
                    except TurnInFlight:
                        continue
                    except RasaUnavailable as exc:  # gone again: the message stays pending
                        await self.handoffs.request(current, "bot_error", 0.0, {"error": str(exc)})
                        return done
                await self._push(current, replies)
                done += 1
        return done

    async def recover(self, older_than: timedelta = timedelta(seconds=5)) -> int:
        """Handle messages stored but never handled: the hub died, or the database failed,
        between storing and answering them. A conversation this process is working on right
        now (its lock is held) is left alone. Replies are pushed through the channel."""
        done = 0
        with storage_errors():
            for conversation, message in await self.store.unanswered(older_than):
                if self.locks.busy(conversation.key):
                    continue
                async with self.locks.hold(conversation.key):
                    current = await self.store.conversation(conversation.key)
                    fresh = await self.store.message(message.id)
                    if current is None or fresh is None or fresh.status != "received":
                        continue
                    log.info("answering message %s, stored but never handled", fresh.id)
                    try:
                        replies = await self._route(current, fresh)
                    except TurnInFlight:
                        continue
                if replies:
                    await self._push(current, replies)
                done += 1
        return done

    async def _push(self, conversation: Conversation, replies: list[OutgoingMessage]) -> None:
        if self.deliver is not None:
            try:
                await self.deliver(conversation, replies)
            except Exception:
                log.exception("could not deliver late replies to %s", conversation.key)
