"""Handoff state machine, atomic claims and survival across a hub restart (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from bot.console.auth import AgentDirectory
from bot.handoff.claims import Deliver
from bot.handoff.context import HandoffViews
from bot.handoff.handoffs import AGENT_ONLINE, RATING_QUESTION, HandoffError, Handoffs, next_state
from bot.handoff.states import Action, State, Status, transition
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.storage.models import Conversation
from bot.storage.repo import Store
from tests.conftest import free_port

NO_ESTIMATE = t("queue_no_estimate")


def service(store: Store, deliver: Deliver | None = None) -> Handoffs:
    # Rasa is not running: pause/resume are logged and skipped, routing uses the hub's state
    rasa = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    return Handoffs(store.db, store, rasa, deliver=deliver)


async def queued(store: Store, handoffs: Handoffs, chat: str = "c1") -> int:
    stored = await store.store_incoming(
        IncomingMessage("web", chat, "my order never came", Customer(chat, "Ana"))
    )
    await handoffs.request(stored.conversation, "requested", 0.2, {})
    handoff = await handoffs.open_for(stored.conversation.id)
    assert handoff
    return handoff.id


def test_the_state_machine_refuses_impossible_moves():
    assert next_state("bot", Action.REQUEST) == State.QUEUED == "queued"
    assert next_state("queued", Action.CLAIM) == "with_agent"
    assert next_state("with_agent", Action.RESOLVE) == "bot"
    with pytest.raises(HandoffError, match="cannot claim"):
        next_state("bot", Action.CLAIM)
    with pytest.raises(HandoffError, match="cannot withdraw"):
        next_state("with_agent", Action.WITHDRAW)  # a person has it: the bot cannot take it
    with pytest.raises(HandoffError):
        next_state("nonsense", Action.REQUEST)  # a state no code writes


def test_one_transition_moves_the_conversation_and_its_handoff_together():
    assert transition("bot", Action.REQUEST) == (State.QUEUED, Status.QUEUED)
    assert transition("queued", Action.CLAIM) == (State.WITH_AGENT, Status.CLAIMED)
    assert transition("with_agent", Action.TRANSFER) == (State.WITH_AGENT, Status.CLAIMED)
    assert transition("queued", Action.RESOLVE) == (State.BOT, Status.RESOLVED)
    assert transition("queued", Action.WITHDRAW) == (State.BOT, Status.WITHDRAWN)


async def test_two_agents_claim_at_once_and_exactly_one_wins(store: Store):
    agents = AgentDirectory(store.db)
    ana = await agents.create("ana", "correct horse", display_name="Ana")
    ben = await agents.create("ben", "battery staple", display_name="Ben")
    handoffs = service(store)
    handoff_id = await queued(store, handoffs)
    results = await asyncio.gather(
        handoffs.claim(handoff_id, ana), handoffs.claim(handoff_id, ben), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, HandoffError)]
    assert len(winners) == 1 and len(losers) == 1
    winner = ana if winners[0].agent_id == ana.id else ben
    assert str(losers[0]) == f"already claimed by {winner.display_name}"
    assert losers[0].extra == {"agent": winner.username}
    conversation = await store.conversation("web:c1")
    assert conversation and conversation.state == "with_agent"


async def test_only_the_claiming_agent_replies_and_resolve_asks_for_a_rating(store: Store):
    agents = AgentDirectory(store.db)
    ana = await agents.create("ana", "correct horse", display_name="Ana")
    ben = await agents.create("ben", "battery staple")
    delivered: list[tuple[str, list[OutgoingMessage]]] = []

    async def deliver(conversation: Conversation, messages: list[OutgoingMessage]) -> None:
        delivered.append((conversation.key, messages))

    handoffs = service(store, deliver)
    handoff_id = await queued(store, handoffs)
    with pytest.raises(HandoffError, match="claim this conversation first"):
        await handoffs.reply(handoff_id, ana, "hello")
    await handoffs.claim(handoff_id, ana)
    with pytest.raises(HandoffError):
        await handoffs.reply(handoff_id, ben, "I'm not the owner")
    await handoffs.reply(handoff_id, ana, "It is on its way.")
    await handoffs.resolve(handoff_id, ana, "sent tracking link")
    texts = [m.text for _, batch in delivered for m in batch]
    assert texts == [
        "Ana joined the conversation.",
        "It is on its way.",
        RATING_QUESTION.format(agent="Ana"),
    ]
    assert delivered[0][1][0].custom == {
        "agent": "Ana",
        "status": {"state": "with_agent", "agent": "Ana"},
    }
    assert delivered[-1][1][0].custom["status"] == {"state": "bot"}
    assert [b.title for b in delivered[-1][1][0].buttons] == ["1", "2", "3", "4", "5"]
    conversation = await store.conversation("web:c1")
    assert conversation and conversation.state == "bot" and conversation.awaiting_rating
    with pytest.raises(HandoffError, match="already resolved"):
        await handoffs.resolve(handoff_id, ana, "again")


async def test_transfer_moves_the_conversation_to_another_agent(store: Store):
    agents = AgentDirectory(store.db)
    ana = await agents.create("ana", "correct horse")
    ben = await agents.create("ben", "battery staple")
    handoffs = service(store)
    handoff_id = await queued(store, handoffs)
    await handoffs.claim(handoff_id, ana)
    moved = await handoffs.transfer(handoff_id, ana, ben)
    assert moved.agent_id == ben.id
    await handoffs.reply(handoff_id, ben, "Ben here")
    with pytest.raises(HandoffError):
        await handoffs.reply(handoff_id, ana, "not mine any more")


async def test_customer_is_told_whether_anyone_is_online(store: Store):
    handoffs = service(store)
    stored = await store.store_incoming(IncomingMessage("web", "x", "hi", Customer("x")))
    handoffs.agents_online = lambda: True
    reply = await handoffs.request(stored.conversation, "requested", 0.0, {})
    assert reply.text == f"{AGENT_ONLINE}\n\nYou are number 1 in the queue. {NO_ESTIMATE}"
    assert reply.custom == {
        "handoff": {"reason": "requested"},
        "status": {"state": "queued", "position": 1, "wait_minutes": None},
    }


async def test_queue_claim_and_transcript_survive_a_restart(store: Store):
    agents = AgentDirectory(store.db)
    ana = await agents.create("ana", "correct horse")
    first = service(store)
    waiting = await queued(store, first, chat="waiting")
    claimed = await queued(store, first, chat="claimed")
    await first.claim(claimed, ana)

    restarted = Store(store.db.__class__(store.db.url))  # a new engine, as after a restart
    try:
        queue = await HandoffViews(restarted.db).queue()
        by_id = {h["id"]: h for h in queue}
        assert by_id[waiting]["status"] == "queued" and by_id[waiting]["agent"] is None
        assert by_id[claimed]["status"] == "claimed" and by_id[claimed]["agent"] == "ana"
        context = await HandoffViews(restarted.db).context(claimed)
        assert context and context["transcript"][0]["text"] == "my order never came"
        assert context["customer"]["name"] == "Ana"
        again = await AgentDirectory(restarted.db).by_username("ana")
        assert again
        await service(restarted).reply(claimed, again, "still here after the restart")
    finally:
        await restarted.db.close()


async def test_queue_is_sorted_by_priority_then_waiting_time(store: Store):
    handoffs = service(store)
    calm = await queued(store, handoffs, chat="calm")
    stored = await store.store_incoming(IncomingMessage("web", "angry", "!!!", Customer("angry")))
    await handoffs.request(stored.conversation, "frustration", 0.9, {})
    queue = await HandoffViews(store.db).queue()
    assert [h["conversation_key"] for h in queue] == ["web:angry", "web:calm"]
    assert queue[0]["priority"] > queue[1]["priority"]
    assert calm == queue[1]["id"]


async def test_passwords_are_hashed_and_checked(store: Store):
    agents = AgentDirectory(store.db)
    created = await agents.create("ana", "correct horse")
    assert created.password_hash.startswith("$argon2")
    assert "correct horse" not in created.password_hash
    assert await agents.login("ana", "wrong password") is None
    assert await agents.login("nobody", "correct horse") is None
    login = await agents.login("ana", "correct horse")
    assert login and await agents.session(login.token)
    await agents.logout(login.token)
    assert await agents.session(login.token) is None
