"""Satisfaction surveys as the customer lives them, through the hub's real router, handoffs and
database (SQLite and PostgreSQL), with a local stand-in for Rasa that answers from an article:
"did this answer your question?" after an answer, "how did we do?" after a resolved handoff, "what
went wrong?" only after a low score, the alert to supervisors, the survey throttle, resolving
without a survey, and the optional NPS."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from bot.app import create_app
from bot.cluster.events import Event
from bot.conversation.surveys import LowScore
from bot.hub import Hub
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import (
    ArticleEvent,
    Conversation,
    Gap,
    Handoff,
    Message,
    Rating,
    utcnow,
)
from tests.fake_rasa import FakeRasa
from tests.support import record_deliveries, serve

QUESTION = "how do I reset my password"
QUESTION_RU = "как мне сбросить пароль от аккаунта"
ANSWER_TEXT = "**Reset your password**\n\nClick **Forgot password?** on the login page."
HUMAN = {"title": "Talk to a person", "payload": "/ask_human"}
_vendor_ids = itertools.count(1)


class ArticleRasa(FakeRasa):
    """Answers QUESTION from the reset-password article as the real action does (a custom
    payload with the message and what the knowledge base decided); asks for a person on
    "/ask_human"; echoes anything else."""

    def _replies(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        text = body["message"]
        if text in (QUESTION, QUESTION_RU):
            kb = {
                "decision": "answer",
                "article": "reset-password",
                "candidates": [{"id": "reset-password", "title": "Reset", "score": 0.91}],
            }
            message = {"text": ANSWER_TEXT, "buttons": [HUMAN]}
            return [{"recipient_id": body["sender"], "custom": {"message": message, "kb": kb}}]
        if text == "/ask_human":
            return [
                {"recipient_id": body["sender"], "custom": {"handoff": {"reason": "requested"}}}
            ]
        return super()._replies(body)


@dataclass
class Shop:
    """The hub as a customer and an agent meet it."""

    hub: Hub
    rasa: ArticleRasa
    delivered: list[tuple[str, OutgoingMessage]] = field(default_factory=list)
    alerts: list[LowScore] = field(default_factory=list)

    async def says(
        self, text: str, chat: str = "c1", language: str = "en"
    ) -> list[OutgoingMessage]:
        message = IncomingMessage(
            "web", chat, text, Customer(chat, "Ana Kupac"), f"v{next(_vendor_ids)}", language
        )
        return await self.hub.router.handle(message)

    async def conversation(self, chat: str = "c1") -> Conversation:
        found = await self.hub.store.conversation(f"web:{chat}")
        assert found is not None
        return found

    async def handed_over_and_resolved(
        self, chat: str = "c1", survey: bool = True, agent: str = "maria"
    ) -> OutgoingMessage:
        """The customer asks for a person, an agent claims, answers and resolves: what the
        customer is told at the end."""
        found = await self.hub.agents.by_username(agent)
        person = found or await self.hub.agents.create(agent, "correct horse", display_name="Maria")
        await self.says("/ask_human", chat)
        conversation = await self.conversation(chat)
        handoff = await self.hub.handoffs.open_for(conversation.id)
        assert handoff
        await self.hub.handoffs.claim(handoff.id, person)
        await self.hub.handoffs.reply(handoff.id, person, "Your refund is on its way.")
        await self.hub.handoffs.resolve(handoff.id, person, "refund sent", survey)
        key, told = self.delivered[-1]
        assert key == f"web:{chat}"
        return told

    async def ratings(self, kind: str | None = None) -> list[Rating]:
        async with self.hub.db.session() as s:
            query = select(Rating).order_by(Rating.id)
            if kind:
                query = query.where(Rating.kind == kind)
            return list((await s.execute(query)).scalars())

    def sent_to_rasa(self) -> list[str]:
        return [body["message"] for body in self.rasa.received]


def texts(replies: list[OutgoingMessage]) -> list[str]:
    return [r.text for r in replies]


def payloads(reply: OutgoingMessage) -> list[str]:
    return [b.payload for b in reply.buttons]


def hub_settings(settings: Settings, rasa_url: str, **changes: Any) -> Settings:
    """The agents here claim by hand: no auto-assignment."""
    empty = settings.var_dir / "no-articles"
    empty.mkdir(parents=True, exist_ok=True)
    return settings.with_(
        rasa_managed=False,
        rasa_url=rasa_url,
        rasa_timeout=2.0,
        articles_dir=empty,
        routing_auto_assign=False,
        **changes,
    )


@asynccontextmanager
async def shop_on(settings: Settings) -> AsyncIterator[Shop]:
    rasa = ArticleRasa()
    async with serve(rasa.app()) as rasa_url:
        hub = Hub(hub_settings(settings, rasa_url))
        await hub.db.migrate()
        shop = Shop(hub, rasa)

        shop.delivered = record_deliveries(hub.bus)

        async def alerted(event: Event) -> None:
            alert = LowScore.from_event(event)
            assert alert is not None
            shop.alerts.append(alert)

        hub.bus.subscribe(alerted, ["rating"])
        try:
            yield shop
        finally:
            await hub.rasa.close()
            await hub.db.close()


@pytest.fixture
async def shop(settings: Settings, database: Database) -> AsyncIterator[Shop]:
    """SQLite and PostgreSQL (the hub opens the `database` fixture's URL)."""
    async with shop_on(settings.with_(database_url=database.url)) as running:
        yield running


@pytest.fixture
async def sqlite_shop(settings: Settings) -> AsyncIterator[Shop]:
    async with shop_on(settings) as running:
        yield running


# ---------------------------------------------------------------- after a bot answer


async def test_yes_under_an_answer_is_stored_once_and_counts_for_the_article(shop: Shop):
    (answer,) = await shop.says(QUESTION)
    assert answer.text == ANSWER_TEXT
    assert [b.title for b in answer.buttons] == [
        "👍 Yes, that answered my question",
        "👎 No, it didn't",
        "Talk to a person",
    ]
    question = (await shop.hub.store.transcript("web:c1"))[0]
    assert payloads(answer) == [
        f"/answer_yes:{question.id}",
        f"/answer_no:{question.id}",
        "/ask_human",
    ]

    assert texts(await shop.says(payloads(answer)[0])) == [
        "Glad that helped! Is there anything else I can help with?"
    ]
    # pressed again (a reloaded page), or No after Yes: one rating per answer, an honest reply
    assert texts(await shop.says(payloads(answer)[0])) == [t("survey_done")]
    assert texts(await shop.says(payloads(answer)[1])) == [t("survey_done")]

    transcript = await shop.hub.store.transcript("web:c1")
    bot_answer = next(m for m in transcript if m.direction == "out")
    (rating,) = await shop.ratings()
    assert (rating.kind, rating.score, rating.message_id, rating.article_id) == (
        "answer",
        5,
        bot_answer.id,
        "reset-password",
    )
    async with shop.hub.db.session() as s:
        events = (await s.execute(select(ArticleEvent.kind))).scalars().all()
    assert events == ["helpful"]
    assert shop.sent_to_rasa() == [QUESTION]  # the clicks never reached Rasa
    clicks = [m for m in transcript if m.direction == "in"][1:]
    assert {(m.status, m.intent) for m in clicks} == {("processed", "survey")}


async def test_no_under_an_answer_logs_the_gap_and_offers_a_person(shop: Shop):
    (answer,) = await shop.says(QUESTION)
    replies = await shop.says(payloads(answer)[1])
    assert texts(replies) == [t("not_helpful")]
    assert payloads(replies[0]) == ["/ask_human"]
    (rating,) = await shop.ratings()
    assert (rating.kind, rating.score, rating.article_id) == ("answer", 1, "reset-password")
    async with shop.hub.db.session() as s:
        (gap,) = (await s.execute(select(Gap))).scalars().all()
        events = (await s.execute(select(ArticleEvent.kind))).scalars().all()
    assert (gap.question, gap.reason, gap.article_id) == (QUESTION, "not_helpful", "reset-password")
    assert gap.conversation_key == "web:c1" and gap.candidates[0]["id"] == "reset-password"
    assert events == ["not_helpful"]
    # the person the bot offered is one click away, as after "that didn't help" in words
    handoff = await shop.says("/ask_human")
    assert handoff[-1].custom and handoff[-1].custom["handoff"] == {"reason": "requested"}


async def test_the_answer_buttons_speak_the_customer_language(sqlite_shop: Shop):
    (answer,) = await sqlite_shop.says(QUESTION_RU, language="ru")
    assert [b.title for b in answer.buttons][:2] == [
        "👍 Да, это ответ на мой вопрос",
        "👎 Нет, не помогло",
    ]
    replies = await sqlite_shop.says(payloads(answer)[1], language="ru")
    assert replies[0].text.startswith("Жаль, что это не помогло.")


async def test_a_button_of_another_conversation_or_no_answer_changes_nothing(sqlite_shop: Shop):
    (answer,) = await sqlite_shop.says(QUESTION, chat="first")
    await sqlite_shop.says("hello", chat="second")
    forged = await sqlite_shop.says(payloads(answer)[0], chat="second")
    assert texts(forged) == [t("survey_stale")]
    hello = (await sqlite_shop.hub.store.transcript("web:second"))[0]
    not_an_answer = await sqlite_shop.says(f"/answer_yes:{hello.id}", chat="second")
    assert texts(not_an_answer) == [t("survey_stale")]
    assert await sqlite_shop.ratings() == []


async def test_a_handoff_instead_of_an_answer_gets_no_answer_buttons(sqlite_shop: Shop):
    replies = await sqlite_shop.says("/ask_human")
    assert all(not b.payload.startswith("/answer_") for r in replies for b in r.buttons)
    echo = await sqlite_shop.says("hello", chat="other")
    assert echo[0].buttons == []  # nothing the knowledge base answered: nothing to rate


# ---------------------------------------------------------------- after a resolved handoff


async def test_a_2_asks_what_went_wrong_stores_the_comment_and_alerts(shop: Shop):
    told = await shop.handed_over_and_resolved()
    assert told.text == t("rating_question", agent="Maria")
    assert payloads(told) == ["1", "2", "3", "4", "5"]

    (follow_up,) = await shop.says("2")
    assert follow_up.text == (
        "Sorry we let you down. What went wrong? Your answer goes straight to our team."
    )
    (rating,) = await shop.ratings("csat")
    assert [b.title for b in follow_up.buttons] == ["Skip"]
    assert payloads(follow_up) == [f"/survey_skip:{rating.id}"]
    assert [(a.score, a.comment) for a in shop.alerts] == [(2, None)]
    alert = shop.alerts[0]
    assert (alert.customer, alert.agent, alert.conversation, alert.channel) == (
        "Ana Kupac",
        "Maria",
        "web:c1",
        "web",
    )

    comment = "Nobody told me when the refund arrives, I had to ask three times"
    assert texts(await shop.says(comment)) == [
        "Thank you for telling us. Is there anything else I can help with?"
    ]
    (rating,) = await shop.ratings("csat")
    assert (rating.score, rating.comment) == (2, comment)
    assert rating.handoff_id == alert.handoff_id
    assert [(a.rating_id, a.comment) for a in shop.alerts] == [
        (rating.id, None),
        (rating.id, comment),
    ]
    # the comment was no question for the bot; the next message is
    assert comment not in shop.sent_to_rasa()
    assert texts(await shop.says("and where is my parcel?")) == ["echo: and where is my parcel?"]


async def test_a_2_with_skip_just_thanks_and_the_bot_is_back(shop: Shop):
    await shop.handed_over_and_resolved()
    (follow_up,) = await shop.says("٢")  # an Arabic-Indic 2 counts as well
    (skip,) = payloads(follow_up)
    assert texts(await shop.says(skip)) == [t("rating_thanks")]
    assert texts(await shop.says(skip)) == [t("survey_done")]  # pressed again
    (rating,) = await shop.ratings("csat")
    assert (rating.score, rating.comment) == (2, None)
    assert len(shop.alerts) == 1  # the score; no comment followed
    assert texts(await shop.says("what about my parcel")) == ["echo: what about my parcel"]
    assert (await shop.ratings("csat"))[0].comment is None


async def test_a_5_gets_thanks_and_no_follow_up_or_alert(shop: Shop):
    await shop.handed_over_and_resolved()
    assert texts(await shop.says("5")) == [t("rating_thanks")]
    assert [(r.kind, r.score, r.comment) for r in await shop.ratings()] == [("csat", 5, None)]
    assert shop.alerts == []
    assert texts(await shop.says("great, thanks")) == ["echo: great, thanks"]
    assert (await shop.ratings())[0].comment is None


async def test_the_follow_up_speaks_the_customer_language(sqlite_shop: Shop):
    await sqlite_shop.says("привет", language="sr-Cyrl")
    told = await sqlite_shop.handed_over_and_resolved()
    assert told.text.startswith("Ваше питање је означено као решено (Maria)")
    (follow_up,) = await sqlite_shop.says("1", language="sr-Cyrl")
    assert follow_up.text.startswith("Жао нам је што нисте задовољни.")
    assert [b.title for b in follow_up.buttons] == ["Прескочи"]


async def test_a_customer_surveyed_recently_is_not_asked_again(shop: Shop):
    await shop.handed_over_and_resolved()
    await shop.says("4")
    again = await shop.handed_over_and_resolved()
    assert again.text == t("resolved_no_survey", agent="Maria") and again.buttons == []
    assert again.custom and again.custom["csat"] == {
        "handoff": again.custom["csat"]["handoff"],
        "asked": False,
        "why": "recent",
    }
    conversation = await shop.conversation()
    assert not conversation.awaiting_rating
    assert texts(await shop.says("3")) == ["echo: 3"]  # no survey open: a plain message
    assert [r.score for r in await shop.ratings("csat")] == [4]

    shop.hub.surveys.clock = lambda: utcnow() + timedelta(days=7, minutes=1)
    later = await shop.handed_over_and_resolved()
    assert later.text == t("rating_question", agent="Maria")


async def test_survey_every_days_0_asks_every_time(settings: Settings):
    async with shop_on(settings.with_(survey_every_days=0.0)) as shop:
        await shop.handed_over_and_resolved()
        await shop.says("5")
        again = await shop.handed_over_and_resolved()
        assert again.text == t("rating_question", agent="Maria")


async def test_resolve_without_survey_tells_the_customer_only_that_the_bot_is_back(shop: Shop):
    told = await shop.handed_over_and_resolved(survey=False)
    assert told.text == (
        "Maria has marked your question as resolved and handed you back to me. Is there "
        "anything else I can help with?"
    )
    assert told.buttons == []
    async with shop.hub.db.session() as s:
        handoff = (await s.execute(select(Handoff))).scalars().one()
        customer_surveyed = (
            await s.execute(select(Conversation).where(Conversation.key == "web:c1"))
        ).scalar_one()
    assert handoff.status == "resolved" and handoff.survey_skipped
    assert not customer_surveyed.awaiting_rating
    assert texts(await shop.says("1")) == ["echo: 1"]
    assert await shop.ratings() == []
    # skipping is no survey: the next resolve asks
    assert (await shop.handed_over_and_resolved()).text == t("rating_question", agent="Maria")


async def test_nps_when_on_follows_a_good_score_at_most_once_per_period(
    settings: Settings, database: Database
):
    """Off by default (see test_a_5_gets_thanks_and_no_follow_up_or_alert); on: SQLite and
    PostgreSQL (the "asked recently" query reads the survey marker inside the JSON payload)."""
    changes = {"database_url": database.url, "survey_every_days": 0.0, "nps_every_days": 90.0}
    async with shop_on(settings.with_(**changes)) as shop:
        await shop.handed_over_and_resolved()
        thanks, nps = await shop.says("4")
        assert thanks.text == t("rating_thanks")
        assert nps.text.startswith("One more question, if you have a moment: how likely")
        assert payloads(nps) == [str(n) for n in range(11)]
        assert texts(await shop.says("9")) == [t("comment_thanks")]
        assert [(r.kind, r.score) for r in await shop.ratings()] == [("csat", 4), ("nps", 9)]
        await shop.handed_over_and_resolved()
        assert texts(await shop.says("5")) == [t("rating_thanks")]  # not again within 90 days
        await shop.handed_over_and_resolved(chat="someone-else")
        assert len(await shop.says("5", chat="someone-else")) == 2  # another customer: asked


# ---------------------------------------------------------------- over HTTP: the console's view


@asynccontextmanager
async def site_on(settings: Settings) -> AsyncIterator[tuple[str, Shop]]:
    rasa = ArticleRasa()
    async with serve(rasa.app()) as rasa_url:
        hub = Hub(hub_settings(settings, rasa_url))
        shop = Shop(hub, rasa)

        shop.delivered = record_deliveries(hub.bus)
        async with serve(create_app(hub)) as url:
            yield url, shop


@asynccontextmanager
async def login(url: str, username: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/api/agent/login", json={"username": username, "password": "correct horse"}
        )
        assert response.status_code == 200, response.text
        yield client, response.json()["csrf"]


def live_socket(url: str, client: httpx.AsyncClient) -> websockets.connect:
    cookie = client.cookies.get("sb_session")
    return websockets.connect(
        url.replace("http", "ws") + "/api/agent/ws",
        additional_headers={"Cookie": f"sb_session={cookie}"},
    )


async def events_until(socket: websockets.ClientConnection, last: str) -> list[dict[str, Any]]:
    """Every event the socket receives up to and including one of type `last`."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not seen or seen[-1].get("type") != last:
            seen.append(json.loads(await socket.recv()))
    return seen


async def test_resolve_without_survey_over_the_agent_api(settings: Settings):
    async with site_on(settings) as (url, shop):
        await shop.hub.agents.create("maria", "correct horse", display_name="Maria")
        async with login(url, "maria") as (client, csrf):
            headers = {"X-CSRF-Token": csrf}
            ids = []
            for chat in ("quiet", "asked"):
                await shop.says("/ask_human", chat)
                conversation = await shop.conversation(chat)
                handoff = await shop.hub.handoffs.open_for(conversation.id)
                assert handoff
                ids.append(handoff.id)
                claim = await client.post(
                    f"/api/agent/handoffs/{handoff.id}/claim", headers=headers
                )
                assert claim.status_code == 200
            path = f"/api/agent/handoffs/{ids[0]}/resolve"
            for bad in ({"note": "x", "survey": "no"}, {"note": "x", "survey": None}):
                refused = await client.post(path, json=bad, headers=headers)
                assert refused.status_code == 400 and "survey" in refused.json()["error"]
            quiet = await client.post(
                path, json={"note": "answered by phone", "survey": False}, headers=headers
            )
            assert quiet.status_code == 200
            assert quiet.json()["handoff"]["survey_skipped"] is True
            assert shop.delivered[-1][1].text == t("resolved_no_survey", agent="Maria")
            # the existing contract: a note alone asks for the rating
            asked = await client.post(
                f"/api/agent/handoffs/{ids[1]}/resolve", json={"note": "done"}, headers=headers
            )
            assert asked.json()["handoff"]["survey_skipped"] is False
            assert shop.delivered[-1][1].text == t("rating_question", agent="Maria")


async def test_a_low_score_alert_reaches_supervisors_and_admins_live_not_agents(
    settings: Settings,
):
    async with site_on(settings) as (url, shop):
        for name, role in (("sam", "supervisor"), ("root", "admin"), ("ana", "agent")):
            await shop.hub.agents.create(name, "correct horse", role=role)
        await shop.hub.agents.create("wanda", "correct horse", role="writer")
        async with (
            login(url, "sam") as (supervisor, _),
            login(url, "root") as (admin, _),
            login(url, "ana") as (agent, _),
            login(url, "wanda") as (writer, _),
        ):
            with pytest.raises(websockets.exceptions.InvalidStatus):  # writers get no socket
                async with live_socket(url, writer):
                    pass
            async with (
                live_socket(url, supervisor) as sam_ws,
                live_socket(url, admin) as root_ws,
                live_socket(url, agent) as ana_ws,
            ):
                await shop.handed_over_and_resolved(chat="angry", agent="maria")
                await shop.says("1", chat="angry")
                await shop.says("The agent <b>ignored</b> me", chat="angry")
                await shop.hub.events.send_here({"type": "probe"})  # a marker, this hub only
                for socket in (sam_ws, root_ws):
                    alerts = [
                        e["rating"]
                        for e in await events_until(socket, "probe")
                        if e["type"] == "low_rating"
                    ]
                    assert [(a["score"], a["comment"]) for a in alerts] == [
                        (1, None),
                        (1, "The agent <b>ignored</b> me"),
                    ]
                    assert alerts[0]["conversation"] == "web:angry"
                    assert alerts[0]["customer"] == "Ana Kupac" and alerts[0]["agent"] == "Maria"
                    assert alerts[0]["handoff_id"] and alerts[0]["rating_id"]
                agent_saw = await events_until(ana_ws, "probe")
                assert agent_saw and all(e["type"] != "low_rating" for e in agent_saw)


def test_the_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    from bot.settings import load_settings

    monkeypatch.setenv("SURVEY_EVERY_DAYS", "0")
    monkeypatch.setenv("NPS_EVERY_DAYS", "30")
    loaded = load_settings(Path("/nonexistent"))
    assert (loaded.survey_every_days, loaded.nps_every_days) == (0.0, 30.0)
    monkeypatch.setenv("SURVEY_EVERY_DAYS", "-1")
    with pytest.raises(SystemExit, match="SURVEY_EVERY_DAYS"):
        load_settings(Path("/nonexistent"))
    assert Settings().survey_every_days == 7.0 and Settings().nps_every_days == 0.0


async def test_what_the_transcript_keeps(sqlite_shop: Shop):
    """The survey questions carry what they ask in their custom payload (for reports)."""
    told = await sqlite_shop.handed_over_and_resolved()
    assert told.custom and told.custom["csat"]["handoff"]
    await sqlite_shop.says("2")
    async with sqlite_shop.hub.db.session() as s:
        last = (await s.execute(select(Message).order_by(Message.id.desc()).limit(1))).scalar_one()
    (rating,) = await sqlite_shop.ratings()
    assert last.payload and last.payload["custom"] == {
        "survey": {"kind": "comment", "rating": rating.id}
    }
