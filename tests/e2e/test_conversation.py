"""A customer's questions, end to end through the real Rasa model and the real knowledge base."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from bot.conversation.router import RASA_DOWN
from bot.i18n import t
from bot.storage.models import Rating
from tests.e2e.conftest import Running

pytestmark = pytest.mark.e2e


async def test_health_reports_hub_rasa_and_index(running: Running):
    response = await running.http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["rasa"]["reachable"] and body["rasa"]["process"] == "ready"
    assert body["index"]["state"] == "ready" and body["index"]["articles"] >= 30


async def test_greeting_over_the_websocket(running: Running):
    async with running.socket("e2e-ws", "en") as ws:
        await ws.send(json.dumps({"type": "message", "text": "hi", "id": "1"}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
    assert frame["type"] == "messages"
    assert "Brightcart" in frame["messages"][0]["text"]


async def test_greeting_over_rest(running: Running):
    messages = await running.chat("e2e-greet", "hello there")
    assert "Brightcart" in messages[0]["text"]


@pytest.mark.parametrize(
    "question",
    [
        "how do I reset my password",
        "I can't remember my password",
        "my password doesn't work anymore",
    ],
)
async def test_password_questions_get_the_reset_article(running: Running, question: str):
    messages = await running.chat("e2e-password", question)
    answer = messages[0]
    assert answer["text"].startswith("**Reset your password**")
    assert answer["custom"]["kb"]["article"] == "reset-password"
    assert {"title": "Talk to a person", "payload": "/ask_human"} in answer["buttons"]


async def test_password_question_over_the_websocket(running: Running):
    async with running.socket("e2e-ws-pw") as ws:
        await ws.send(json.dumps({"text": "I forgot my password, what now?"}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
    assert frame["messages"][0]["custom"]["kb"]["article"] == "reset-password"


async def test_unrelated_question_is_logged_as_a_gap_and_a_person_offered(running: Running):
    messages = await running.chat("e2e-gap", "what is the capital of Mongolia")
    assert "don't have an answer" in messages[0]["text"]
    assert messages[0]["buttons"] == [{"title": "Talk to a person", "payload": "/ask_human"}]
    gaps = await running.hub.store.gaps()
    gap = next(g for g in gaps if g.question == "what is the capital of Mongolia")
    assert gap.conversation_key == "web:e2e-gap" and gap.language == "en"
    assert gap.candidates and "score" in gap.candidates[0]


async def test_asking_for_a_person_starts_a_handoff(running: Running):
    messages = await running.chat("e2e-human", "I want to talk to a human")
    assert any((m.get("custom") or {}).get("handoff") for m in messages)


async def test_the_conversation_is_in_the_database(running: Running):
    await running.chat("e2e-db", "hi")
    await running.chat("e2e-db", "how do I reset my password")
    transcript = await running.hub.store.transcript("web:e2e-db")
    assert [(m.sender, m.status) for m in transcript if m.direction == "in"] == [
        ("customer", "processed"),
        ("customer", "processed"),
    ]
    assert transcript[0].intent == "greet" and transcript[0].intent_confidence
    assert transcript[2].intent in {"question", "nlu_fallback"}
    assert sum(m.direction == "out" for m in transcript) >= 2


async def test_a_crashed_rasa_is_restarted_and_the_waiting_message_answered(running: Running):
    supervisor = running.hub.supervisor
    assert supervisor is not None
    async with running.socket("e2e-crash") as ws:
        await supervisor.kill()
        while await running.hub.rasa.healthy():
            await asyncio.sleep(0.1)
        await ws.send(json.dumps({"text": "how do I reset my password"}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 60))
        assert first["messages"][0]["text"] == RASA_DOWN
        queue = await running.hub.views.queue()  # the agents were told (reason bot_error)
        assert [h["reason"] for h in queue if h["conversation_key"] == "web:e2e-crash"] == [
            "bot_error"
        ]
        late = json.loads(await asyncio.wait_for(ws.recv(), 300))  # after the restart
    assert late["messages"][0]["custom"]["kb"]["article"] == "reset-password"
    assert supervisor.restarts >= 1
    transcript = await running.hub.store.transcript("web:e2e-crash")
    assert [m.status for m in transcript if m.direction == "in"] == ["processed"]
    # the bot answered before any agent claimed it, so the handoff was withdrawn
    assert not [
        h for h in await running.hub.views.queue() if h["conversation_key"] == "web:e2e-crash"
    ]


async def test_no_under_an_answer_is_a_rating_a_gap_and_an_offer_of_a_person(running: Running):
    """The real model and knowledge base: the answer carries Yes / No; No never reaches Rasa."""
    session = "e2e-answer-no"
    (answer,) = await running.chat(session, "how do I reset my password")
    assert answer["custom"]["kb"]["article"] == "reset-password"
    titles = [b["title"] for b in answer["buttons"]]
    assert titles == ["👍 Yes, that answered my question", "👎 No, it didn't", "Talk to a person"]
    no = answer["buttons"][1]["payload"]
    (sorry,) = await running.chat(session, no)
    assert sorry["text"].startswith("Sorry that didn't help.")
    assert sorry["buttons"] == [{"title": "Talk to a person", "payload": "/ask_human"}]
    assert (await running.chat(session, no))[0]["text"] == t("survey_done")
    hub = running.hub
    async with hub.db.session() as s:
        conversation = await hub.store.conversation(f"web:{session}")
        assert conversation
        ratings = (
            await s.execute(select(Rating).where(Rating.conversation_id == conversation.id))
        ).scalars()
        assert [(r.kind, r.score, r.article_id) for r in ratings] == [
            ("answer", 1, "reset-password")
        ]
    gap = next(g for g in await hub.store.gaps() if g.conversation_key == f"web:{session}")
    assert (gap.reason, gap.article_id) == ("not_helpful", "reset-password")
    tracker = await hub.rasa.tracker(f"web:{session}")
    said = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert no not in said  # the click was the hub's business
