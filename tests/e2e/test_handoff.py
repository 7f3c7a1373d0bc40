"""Every handoff trigger, as transcripts against the real trained Rasa model."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.handoff.handoffs import RATING_THANKS
from bot.storage.models import Handoff, Rating
from tests.e2e.conftest import Running

pytestmark = pytest.mark.e2e


async def handoff_reason(running: Running, session: str) -> str | None:
    conversation = await running.hub.store.conversation(f"web:{session}")
    assert conversation is not None
    handoff = await running.hub.handoffs.open_for(conversation.id)
    return handoff.reason if handoff else None


async def rasa_paused(running: Running, session: str) -> bool:
    return bool((await running.hub.rasa.tracker(f"web:{session}"))["paused"])


def handed_over(messages: list[dict]) -> bool:
    return any((m.get("custom") or {}).get("handoff") for m in messages)


async def test_asking_for_a_person_hands_over_and_rasa_goes_silent(running: Running):
    messages = await running.chat("t-requested", "can I speak to a real person please")
    assert handed_over(messages)
    assert "queued" in messages[-1]["text"]  # no agent is online: the customer is told
    assert await handoff_reason(running, "t-requested") == "requested"
    assert await rasa_paused(running, "t-requested")
    assert await running.chat("t-requested", "hello? anyone?") == []  # goes to the agents


async def test_the_talk_to_a_person_button_hands_over(running: Running):
    await running.chat("t-button", "what is the capital of Mongolia")
    messages = await running.chat("t-button", "/ask_human")
    assert handed_over(messages)
    assert await handoff_reason(running, "t-button") == "requested"


async def test_an_angry_customer_is_handed_over(running: Running):
    messages = await running.chat("t-complain", "this is ridiculous, worst service ever")
    assert handed_over(messages)
    assert await handoff_reason(running, "t-complain") == "frustration"


async def test_frustration_signals_add_up_to_a_handoff(running: Running):
    first = await running.chat("t-signals", "WHERE IS MY ORDER")
    assert not handed_over(first)  # shouting alone is not enough
    second = await running.chat("t-signals", "THAT DIDN'T HELP!!")
    assert handed_over(second)
    assert await handoff_reason(running, "t-signals") == "frustration"
    transcript = await running.hub.store.transcript("web:t-signals")
    said = [m for m in transcript if m.direction == "in"]
    assert "shouting" in said[0].signals and said[1].frustration >= 0.7


async def test_two_unanswered_questions_in_a_row_hand_over(running: Running):
    first = await running.chat("t-unknown", "what is the capital of Mongolia")
    assert not handed_over(first)
    second = await running.chat("t-unknown", "who won the world cup in 1998")
    assert handed_over(second)
    assert not any("don't have an answer" in m["text"] for m in second)
    assert await handoff_reason(running, "t-unknown") == "unanswered"
    conversation = await running.hub.store.conversation("web:t-unknown")
    assert conversation
    handoff = await running.hub.handoffs.open_for(conversation.id)
    assert handoff
    context = await running.hub.views.context(handoff.id)
    assert context
    assert context["summary"]["unanswered"] == [
        "what is the capital of Mongolia",
        "who won the world cup in 1998",
    ]
    first_said = context["transcript"][0]
    assert first_said["intent"] in {"question", "nlu_fallback"} and first_said["articles"]


async def test_a_policy_article_is_shown_then_handed_over(running: Running):
    messages = await running.chat("t-policy", "I was charged twice for the same order")
    assert messages[0]["custom"]["kb"]["article"] == "billing-dispute"
    assert handed_over(messages)
    assert await handoff_reason(running, "t-policy") == "policy"


async def test_resolve_resumes_the_bot_which_asks_for_and_stores_a_rating(running: Running):
    hub = running.hub
    agent = await hub.agents.create("e2e-rater", "a long password", display_name="Maria")
    await running.chat("t-rating", "I want to talk to a human")
    conversation = await hub.store.conversation("web:t-rating")
    assert conversation
    handoff = await hub.handoffs.open_for(conversation.id)
    assert handoff
    await hub.handoffs.claim(handoff.id, agent)
    await hub.handoffs.reply(handoff.id, agent, "Hi, Maria here. Sorted!")
    await hub.handoffs.resolve(handoff.id, agent, "answered by hand")
    assert not await rasa_paused(running, "t-rating")
    assert (await running.chat("t-rating", "5"))[0]["text"] == RATING_THANKS
    async with hub.db.session() as s:
        ratings = (await s.execute(select(Rating).where(Rating.handoff_id == handoff.id))).scalars()
        assert [r.score for r in ratings] == [5]
        stored = await s.get(Handoff, handoff.id)
        assert (
            stored and stored.status == "resolved" and stored.resolution_note == "answered by hand"
        )
    answer = await running.chat("t-rating", "how do I reset my password")
    assert answer[0]["custom"]["kb"]["article"] == "reset-password"  # the bot is back
