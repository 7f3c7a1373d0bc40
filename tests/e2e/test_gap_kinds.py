"""Every kind of gap the writers see, from real conversations with the trained Rasa model: what
the bot did not resolve is logged once, with the customer's own question, its kind and the
article it was about - and what the bot did resolve is not logged at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.models import Gap
from tests.e2e.conftest import Running

pytestmark = pytest.mark.e2e


async def gaps_of(running: Running, session: str) -> list[tuple[str, str, str | None]]:
    """(kind, question, article) of every gap logged for a web session, oldest first."""
    async with running.hub.db.session() as s:
        rows = await s.execute(
            select(Gap).where(Gap.conversation_key == f"web:{session}").order_by(Gap.id)
        )
        return [(g.reason, g.question, g.article_id) for g in rows.scalars()]


async def resolve_by_hand(running: Running, session: str, username: str) -> None:
    hub = running.hub
    agent = await hub.agents.create(username, "a long password", display_name="Ana")
    conversation = await hub.store.conversation(f"web:{session}")
    assert conversation
    handoff = await hub.handoffs.open_for(conversation.id)
    assert handoff
    await hub.handoffs.claim(handoff.id, agent)
    await hub.handoffs.reply(handoff.id, agent, "Sorted it for you.")
    await hub.handoffs.resolve(handoff.id, agent, "")


async def test_an_answered_question_is_no_gap(running: Running):
    messages = await running.chat("gap-none", "how do I reset my password")
    assert messages[0]["custom"]["kb"]["article"] == "reset-password"
    assert await gaps_of(running, "gap-none") == []


async def test_unknown_is_logged_with_the_question(running: Running):
    await running.chat("gap-unknown", "are your products vegan")
    assert await gaps_of(running, "gap-unknown") == [("unknown", "are your products vegan", None)]


async def test_a_clarify_without_a_pick_is_logged_when_the_customer_moves_on(running: Running):
    first = await running.chat("gap-clarify", "something is wrong with my package")
    assert first[0]["custom"]["kb"]["decision"] == "clarify"
    assert await gaps_of(running, "gap-clarify") == []  # the customer may still pick
    await running.chat("gap-clarify", "where is my order")
    assert await gaps_of(running, "gap-clarify") == [
        ("clarify", "something is wrong with my package", None)
    ]


async def test_a_picked_clarify_button_is_no_gap(running: Running):
    first = await running.chat("gap-pick", "something is wrong with my package")
    button = next(b for b in first[0]["buttons"] if not b["payload"].startswith("/"))
    picked = await running.chat("gap-pick", button["payload"])
    assert picked[0]["custom"]["kb"]["decision"] == "answer"
    await running.chat("gap-pick", "where is my order")
    assert await gaps_of(running, "gap-pick") == []


async def test_that_did_not_help_is_logged_against_the_article(running: Running):
    await running.chat("gap-no", "where is my order")
    await running.chat("gap-no", "no")
    assert await gaps_of(running, "gap-no") == [("not_helpful", "where is my order", "track-order")]


async def test_a_handoff_after_an_answer_is_logged_against_the_article(running: Running):
    await running.chat("gap-after", "where is my order")
    await running.chat("gap-after", "can I speak to a real person please")
    assert await gaps_of(running, "gap-after") == [
        ("handoff_after_answer", "where is my order", "track-order")
    ]


async def test_a_handoff_instead_of_an_answer_logs_the_question(running: Running):
    question = "my new sofa arrived with a big scratch on the left armrest"
    await running.chat("gap-instead", question)
    await running.chat("gap-instead", "/ask_human")
    kinds = await gaps_of(running, "gap-instead")
    assert [k for k, _, _ in kinds] in (["clarify"], ["handoff"]), kinds
    assert kinds[0][1] == question


async def test_a_low_rating_logs_the_first_problem(running: Running):
    question = "my parcel says delivered but it is not here"
    await running.chat("gap-rating", question)
    await running.chat("gap-rating", "/ask_human")
    before = await gaps_of(running, "gap-rating")
    await resolve_by_hand(running, "gap-rating", "gap-rater")
    await running.chat("gap-rating", "1")
    after = await gaps_of(running, "gap-rating")
    assert after[: len(before)] == before
    assert [(k, q) for k, q, _ in after[len(before) :]] == [("low_rating", question)]
