"""Auto-assignment (bot/handoff/routing.py) and out-of-hours handoffs, with a fixed clock: the pure
choice (language first, then anyone; capacity; fairness; the returning customer; nobody
online), then the whole path on SQLite and PostgreSQL: a queued handoff claimed for the right
agent, the queue handed out as agents arrive and free capacity, and a customer told when we
open who leaves an e-mail address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.cluster.events import LocalBus
from bot.console.auth import AgentDirectory
from bot.conversation.router import Router
from bot.handoff.claims import Claims
from bot.handoff.handoffs import Handoffs
from bot.handoff.hours import BusinessHours, parse_hours
from bot.handoff.queue_status import QueueStatus
from bot.handoff.routing import FREES_CAPACITY, AutoAssigner, Candidate, Wanted, choose
from bot.i18n import t
from bot.messages import Customer, IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.storage.models import Agent, Conversation, Handoff
from bot.storage.models import Customer as CustomerRow
from bot.storage.repo import Store
from tests.conftest import free_port

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def agent(id: int, name: str, languages: str = "", open: int = 0, **extra: object) -> Candidate:
    langs = frozenset(x for x in languages.split(",") if x)
    return Candidate(id, name, langs, open=open, **extra)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the choice, pure


def test_the_conversation_language_first_then_anyone():
    ana, ben = agent(1, "ana", "bs,hr"), agent(2, "ben", "en")
    assert choose(Wanted("bs"), [ben, ana]) == ana
    assert choose(Wanted("en"), [ana, ben]) == ben
    assert choose(Wanted("sr-Cyrl"), [ben, agent(3, "mira", "sr")]).username == "mira"  # type: ignore[union-attr]
    # nobody speaks Persian: anyone (the least busy)
    assert choose(Wanted("fa"), [agent(1, "ana", "bs", open=2), agent(2, "ben", "en", open=1)]) == (
        agent(2, "ben", "en", open=1)
    )


def test_capacity_is_respected():
    full = agent(1, "ana", "bs", open=3, capacity=3)
    free = agent(2, "ben", "en", open=2, capacity=3)
    assert choose(Wanted("bs"), [full, free]) == free  # the speaker is full: anyone
    assert choose(Wanted("bs"), [full, agent(2, "ben", open=3, capacity=3)]) is None
    assert choose(Wanted("bs"), [agent(1, "ana", "bs", capacity=0)]) is None  # never assigned


def test_fair_fewest_open_then_longest_since_the_last_assignment():
    busy = agent(1, "ana", "en", open=2)
    idle = agent(2, "ben", "en", open=1)
    assert choose(Wanted("en"), [busy, idle]) == idle
    recent = agent(1, "ana", "en", open=1, last_assigned=T0)
    earlier = agent(2, "ben", "en", open=1, last_assigned=T0 - timedelta(minutes=30))
    never = agent(3, "cleo", "en", open=1)
    assert choose(Wanted("en"), [recent, earlier]) == earlier
    assert choose(Wanted("en"), [recent, earlier, never]) == never


def test_a_returning_customer_goes_to_the_agent_who_last_helped_them():
    ana, ben = agent(1, "ana", "bs", open=2), agent(2, "ben", "en", open=0)
    assert choose(Wanted("en", previous_agent=1), [ana, ben]) == ana
    full = agent(1, "ana", "bs", open=5, capacity=5)  # unless they are full: the usual choice
    assert choose(Wanted("en", previous_agent=1), [full, ben]) == ben
    assert choose(Wanted("en", previous_agent=7), [ana, ben]) == ben  # offline: the usual


def test_nobody_online_and_other_teams():
    assert choose(Wanted("en"), []) is None
    billing = agent(1, "ana", "en", team="billing")
    assert choose(Wanted("en", team="support"), [billing]) is None
    anyone = agent(2, "ben", "bs")  # no team: any team's handoffs
    assert choose(Wanted("en", team="support"), [billing, anyone]) == anyone


# ------------------------------------------------------------------ the whole path, on a database


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Desk:
    """Handoffs with auto-assignment as the hub wires them; `online` is who has the console
    open; `told` what each customer was sent outside their own turn."""

    def __init__(self, store: Store, hours: BusinessHours | None = None, now: datetime = T0):
        self.store, self.clock, self.online = store, Clock(now), set[str]()
        rasa = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=1)  # not running: skipped
        queue = QueueStatus(store.db, lambda: len(self.online), self.clock, hours=hours)
        self.told: dict[str, list[str]] = {}

        async def deliver(conversation: Conversation, messages: list[OutgoingMessage]) -> None:
            self.told.setdefault(conversation.chat_id, []).extend(m.text for m in messages)

        bus = LocalBus()
        claims = Claims(store.db, store, bus, deliver, queue)
        self.assigner = AutoAssigner(
            store.db, claims, lambda: set(self.online), hours, 5, self.clock
        )
        bus.subscribe(self.assigner.on_event, FREES_CAPACITY)
        self.handoffs = Handoffs(
            store.db,
            store,
            rasa,
            queue=queue,
            bus=bus,
            deliver=deliver,
            agents_online=lambda: bool(self.online),
            claims=claims,
            auto_assign=self.assigner.assign_new,
        )
        self.router = Router(store, rasa, self.handoffs)

    async def agent(self, name: str, languages: list[str], max_open: int | None = None) -> Agent:
        created = await AgentDirectory(self.store.db).create(
            name, "correct horse battery", display_name=name.title()
        )
        async with self.store.db.session() as s:
            row = await s.get(Agent, created.id)
            assert row is not None
            row.languages, row.max_open = languages, max_open
            await s.commit()
        return created

    async def customer(self, chat: str, language: str, name: str = "") -> tuple[str, Handoff]:
        """A customer asks for a person; what they are told, and their handoff."""
        stored = await self.store.store_incoming(
            IncomingMessage(
                "web", chat, "a person please", Customer(chat, name or chat), language=language
            )
        )
        told = await self.handoffs.request(stored.conversation, "requested", 0.0, {})
        handoff = await self.handoffs.open_for(stored.conversation.id)
        if handoff is None:  # resolved meanwhile
            async with self.store.db.session() as s:
                handoff = (
                    (
                        await s.execute(
                            select(Handoff)
                            .where(Handoff.conversation_id == stored.conversation.id)
                            .order_by(Handoff.id.desc())
                        )
                    )
                    .scalars()
                    .first()
                )
        assert handoff is not None
        return told.text, handoff

    async def handoff(self, handoff_id: int) -> Handoff:
        return (await self.handoffs.get(handoff_id))[0]


async def test_a_queued_handoff_is_claimed_for_the_agent_who_speaks_the_language(store: Store):
    desk = Desk(store)
    ana = await desk.agent("ana", ["bs", "hr"])
    ben = await desk.agent("ben", ["en"])
    desk.online = {"ana", "ben"}

    told, bosnian = await desk.customer("amra", "bs")
    assert told.endswith(t("agent_joined", "bs", agent="Ana"))  # in the very reply, in Bosnian
    assert (bosnian.status, bosnian.agent_id, bosnian.offered_to) == ("claimed", ana.id, ana.id)
    assert bosnian.offered_at is not None and bosnian.team == "support"
    conversation = await store.conversation("web:amra")
    assert conversation and conversation.state == "with_agent"

    told, english = await desk.customer("john", "en")
    assert told.endswith("Ben joined the conversation.")
    assert english.agent_id == ben.id


async def test_capacity_then_the_other_agent_then_the_queue_until_capacity_frees(store: Store):
    desk = Desk(store)
    ana = await desk.agent("ana", ["bs"], max_open=1)
    ben = await desk.agent("ben", ["en"], max_open=1)
    desk.online = {"ana", "ben"}
    _, first = await desk.customer("amra", "bs")
    _, second = await desk.customer("edin", "bs")  # Ana is full: Ben, who has room
    assert (first.agent_id, second.agent_id) == (ana.id, ben.id)

    told, third = await desk.customer("lejla", "bs")  # both full: it waits, honestly
    assert third.status == "queued"
    assert t("agent_online", "bs") in told and t("queue_position", "bs", position=1) in told

    await desk.handoffs.resolve(first.id, ana, "done")  # Ana is free again: Lejla is hers
    third = await desk.handoff(third.id)
    assert (third.status, third.agent_id) == ("claimed", ana.id)
    assert desk.told["lejla"] == [t("agent_joined", "bs", agent="Ana")]


async def test_agents_coming_online_get_the_oldest_waiting_first(store: Store):
    desk = Desk(store)
    ana = await desk.agent("ana", ["bs"], max_open=1)
    told, older = await desk.customer("amra", "bs")
    assert t("no_agent_online", "bs") in told  # nobody online: it stays queued
    _, newer = await desk.customer("edin", "bs")
    assert (older.status, newer.status) == ("queued", "queued")

    desk.online = {"ana"}
    await desk.assigner.agent_arrived(ana)
    older, newer = await desk.handoff(older.id), await desk.handoff(newer.id)
    assert (older.agent_id, newer.status) == (ana.id, "queued")  # her capacity is 1
    assert desk.told["amra"] == [t("agent_joined", "bs", agent="Ana")]


async def test_a_returning_customer_gets_the_agent_who_helped_them_last(store: Store):
    desk = Desk(store)
    ana = await desk.agent("ana", ["bs"])
    ben = await desk.agent("ben", ["en"])
    desk.online = {"ana", "ben"}
    _, first = await desk.customer("john", "en")
    assert first.agent_id == ben.id
    await desk.handoffs.resolve(first.id, ben, "done")
    await desk.customer("x1", "en")  # Ben now has one open, Ana none...
    _, again = await desk.customer("john", "en")  # ...still John goes back to Ben
    assert again.agent_id == ben.id and again.id != first.id
    assert ana.id != ben.id


async def test_switched_off_nothing_is_assigned(store: Store):
    desk = Desk(store)
    await desk.agent("ana", ["bs"])
    desk.online = {"ana"}
    desk.assigner.enabled = False
    _, handoff = await desk.customer("amra", "bs")
    assert handoff.status == "queued"
    assert await desk.assigner.assign_waiting() == 0


SARAJEVO = parse_hours(
    {
        "teams": {
            "support": {
                "time_zone": "Europe/Sarajevo",
                "hours": {"mon-fri": "09:00-17:00"},
            }
        }
    }
)
FRIDAY_EVENING = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 in Sarajevo


async def test_out_of_hours_the_customer_is_told_when_we_open_and_may_leave_an_email(
    store: Store,
):
    desk = Desk(store, SARAJEVO, FRIDAY_EVENING)
    ana = await desk.agent("ana", ["bs"])
    desk.online = {"ana"}  # online after hours: may claim by hand, nothing is assigned
    told, handoff = await desk.customer("amra", "en")
    assert told == (
        "We're closed now. We open at Monday 09:00 (Europe/Sarajevo time). "
        + t("closed_queued")
        + " "
        + t("leave_email")
        + "\n\nYou are number 1 in the queue."
    )
    assert (handoff.status, handoff.out_of_hours) == ("queued", True)
    status = await desk.handoffs.status(await store.conversation("web:amra"))  # type: ignore[arg-type]
    assert status["out_of_hours"] is True and status["opens_at"] == "2026-12-07T09:00:00+01:00"

    # the customer leaves an e-mail address: kept on their profile and confirmed
    replies = await desk.router.handle(
        IncomingMessage("web", "amra", "it's amra.h@example.ba, thanks", Customer("amra"))
    )
    assert [r.text for r in replies] == [
        "Thanks! We'll write to amra.h@example.ba when we're back."
    ]
    async with store.db.session() as s:
        conversation = await store.conversation("web:amra")
        assert conversation
        customer = await s.get(CustomerRow, conversation.customer_id)
        assert customer and customer.email == "amra.h@example.ba"

    # later messages: still honest about the opening, no "~3 min"
    desk.handoffs.queue.ack_every = timedelta(0)
    replies = await desk.router.handle(IncomingMessage("web", "amra", "hello?", Customer("amra")))
    assert [r.text for r in replies] == [
        "Thanks, your message is with our team. You are number 1 in the queue. "
        "We open at Monday 09:00 (Europe/Sarajevo time)."
    ]

    # Monday 09:00 in Sarajevo: the queue is handed out
    assert await desk.assigner.assign_waiting() == 0  # still Friday
    desk.clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert await desk.assigner.assign_waiting() == 1
    assert (await desk.handoff(handoff.id)).agent_id == ana.id
    assert desk.told["amra"] == ["Ana joined the conversation."]


async def test_out_of_hours_in_the_customer_language(store: Store):
    desk = Desk(store, SARAJEVO, FRIDAY_EVENING)
    told, _ = await desk.customer("amra", "bs")
    assert told.startswith(
        "Trenutno ne radimo. Otvaramo: ponedjeljak 09:00 (vrijeme: Europe/Sarajevo)."
    )
    replies = await desk.router.handle(
        IncomingMessage("web", "amra", "amra@example.ba", Customer("amra"), language="bs")
    )
    assert [r.text for r in replies] == ["Hvala! Pisat ćemo vam na amra@example.ba kad se vratimo."]


async def test_an_email_in_opening_hours_is_just_a_message(store: Store):
    desk = Desk(store, SARAJEVO, datetime(2026, 12, 4, 10, 0, tzinfo=UTC))  # Friday 11:00
    _, handoff = await desk.customer("john", "en")
    assert handoff.out_of_hours is False
    await desk.router.handle(IncomingMessage("web", "john", "john@example.com", Customer("john")))
    async with store.db.session() as s:
        conversation = await store.conversation("web:john")
        assert conversation
        customer = await s.get(CustomerRow, conversation.customer_id)
        assert customer and customer.email is None


@pytest.mark.parametrize("text", ["write me at a@b", "me@@example.com", "@example.com"])
async def test_no_address_no_confirmation(sqlite_store: Store, text: str):
    desk = Desk(sqlite_store, SARAJEVO, FRIDAY_EVENING)
    await desk.customer("amra", "en")
    replies = await desk.router.handle(IncomingMessage("web", "amra", text, Customer("amra")))
    assert all("We'll write to" not in r.text for r in replies)
