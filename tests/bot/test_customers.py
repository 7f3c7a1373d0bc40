"""Customer profiles on SQLite and PostgreSQL: what channels say about a customer (name,
e-mail, the shop's attributes as short strings, a verified value never overwritten), the
profile across channels with each conversation's outcome, notes on the customer, and an
explicit merge of two profiles that an undo restores exactly, over real HTTP with the console's
credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import create_app
from bot.console.customer_merges import CustomerMerges
from bot.console.customers import ProfileError, clean_attributes
from bot.conversation.web_sessions import Identity, WebSessions, sign
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import Customer as CustomerRow
from bot.storage.models import Rating
from tests.bot.test_agent_api import login
from tests.conftest import free_port
from tests.support import serve

Site = tuple[str, Hub]
SECRET = "shop secret"


@pytest.fixture
async def site(settings: Settings, database: Database) -> AsyncIterator[Site]:
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True)
    hub = Hub(
        settings.with_(
            database_url=database.url,
            rasa_managed=False,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            articles_dir=empty_kb,
        )
    )
    async with serve(create_app(hub)) as url:
        await hub.agents.create("ana", "correct horse", role="agent", display_name="Ana")
        await hub.agents.create("wri", "writer password", role="writer", display_name="W")
        yield url, hub


async def say(hub: Hub, channel: str, chat: str, text: str, who: Customer) -> int:
    """A customer message; the id of the customer row it was stored for."""
    stored = await hub.store.store_incoming(IncomingMessage(channel, chat, text, who))
    return stored.conversation.customer_id


async def row(hub: Hub, customer_id: int) -> CustomerRow:
    async with hub.db.session() as s:
        found = await s.get(CustomerRow, customer_id)
    assert found is not None
    return found


def test_attributes_are_short_strings():
    cleaned = clean_attributes(
        {
            "plan": "Pro",
            "order": 1042,
            "vip": True,
            "page": "https://shop.example/cart?" + "x" * 500,
            "bad key!": "dropped",
            "nested": {"a": 1},
            "none": None,
            "nul": "a\x00b",
            "x" * 60: "a long key is cut",
        }
    )
    assert cleaned["plan"] == "Pro" and cleaned["order"] == "1042" and cleaned["vip"] == "true"
    assert len(cleaned["page"]) == 200
    assert "bad key!" not in cleaned and "nested" not in cleaned and "none" not in cleaned
    assert cleaned["x" * 40] == "a long key is cut"
    assert cleaned["nul"] == "ab"  # PostgreSQL cannot store a NUL


async def test_what_channels_say_is_kept_and_a_verified_value_wins(site: Site):
    _, hub = site
    sessions = WebSessions(hub.db, identity_secret=SECRET)
    issued = await sessions.create(
        Identity("u-77", sign(SECRET, "u-77"), "mira@shop.example", "Mira Verified")
    )
    first = Customer(
        issued.session,
        "someone else",
        email="fake@evil.example",
        attributes={"plan": "Pro", "order": "A-1042"},
    )
    customer_id = await say(hub, "web", issued.session, "where is my order", first)
    later = Customer(issued.session, attributes={"page": "https://shop.example/cart"})
    await say(hub, "web", issued.session, "still waiting", later)
    stored = await row(hub, customer_id)
    assert (stored.display_name, stored.email, stored.verified_id) == (
        "Mira Verified",
        "mira@shop.example",
        "u-77",
    )
    assert stored.attributes == {
        "plan": "Pro",
        "order": "A-1042",
        "page": "https://shop.example/cart",
    }
    # an unverified customer gives their e-mail later: it is kept
    anon = await say(hub, "web", "w-anon", "hello there", Customer("w-anon"))
    await say(hub, "web", "w-anon", "my mail", Customer("w-anon", email="ivo@example.org"))
    assert (await row(hub, anon)).email == "ivo@example.org"


async def test_profile_across_channels_with_notes_and_a_reversible_merge(site: Site):
    url, hub = site
    web_id = await say(
        hub,
        "web",
        "w-mira",
        "my parcel is lost",
        Customer("w-mira", "Mira", email="mira@example.org", attributes={"plan": "Pro"}),
    )
    tg_id = await say(
        hub,
        "telegram",
        "555",
        "hello, it's Mira again about the parcel",
        Customer("555", "Mira K", attributes={"order": "A-7"}),
    )
    tg_conversation = await hub.store.conversation("telegram:555")
    assert tg_conversation is not None
    await hub.handoffs.request(tg_conversation, "requested", 0.0, {})
    handoff = await hub.handoffs.open_for(tg_conversation.id)
    assert handoff is not None
    ana = await hub.agents.by_username("ana")
    assert ana is not None
    await hub.handoffs.claim(handoff.id, ana)
    await hub.handoffs.resolve(handoff.id, ana, "sent a new parcel", True)
    async with hub.db.session() as s:
        s.add(Rating(conversation_id=tg_conversation.id, handoff_id=handoff.id, score=5))
        await s.commit()

    async with login(url, "ana", "correct horse") as (client, csrf):
        headers = {"X-CSRF-Token": csrf}

        async def profile(customer_id: int) -> dict[str, Any]:
            answer = await client.get(f"/api/agent/customers/{customer_id}")
            assert answer.status_code == 200, answer.text
            found: dict[str, Any] = answer.json()["customer"]
            return found

        web_before, tg_before = await profile(web_id), await profile(tg_id)
        assert web_before["attributes"] == {"plan": "Pro"}
        assert [c["outcome"] for c in tg_before["conversations"]] == ["resolved by Ana · rated 5/5"]
        # the handoff's context points at the profile
        context = (await client.get(f"/api/agent/handoffs/{handoff.id}")).json()
        assert context["customer"]["id"] == tg_id

        note = await client.post(
            f"/api/agent/customers/{tg_id}/notes",
            json={"text": "prefers <b>Telegram</b>"},
            headers=headers,
        )
        assert note.status_code == 200 and note.json()["note"]["agent"] == "Ana"
        nul = await client.post(
            f"/api/agent/customers/{tg_id}/notes", json={"text": "a\x00b"}, headers=headers
        )
        assert nul.status_code == 400 and "NUL" in nul.json()["error"]

        found = (await client.get("/api/agent/customers", params={"q": "mira@"})).json()
        assert [c["id"] for c in found["customers"]] == [web_id]
        by_id = (await client.get("/api/agent/customers", params={"q": f"#{tg_id}"})).json()
        assert [c["channel"] for c in by_id["customers"]] == ["telegram"]

        merged = await client.post(
            f"/api/agent/customers/{web_id}/merge", json={"customer_id": tg_id}, headers=headers
        )
        assert merged.status_code == 200, merged.text
        together = merged.json()["customer"]
        assert together["id"] == web_id and together["channels"] == ["telegram", "web"]
        assert together["attributes"] == {"plan": "Pro", "order": "A-7"}
        assert together["name"] == "Mira" and together["email"] == "mira@example.org"
        assert {c["key"] for c in together["conversations"]} == {"web:w-mira", "telegram:555"}
        assert [n["text"] for n in together["notes"]] == ["prefers <b>Telegram</b>"]
        # the Telegram conversation's profile is the web one now
        assert (await profile(tg_id))["id"] == web_id
        merge_id = together["merges"][0]["id"]

        # merging into the merged profile goes to its root; nonsense is a clear 4xx
        third = await say(hub, "slack", "U9", "hi from slack", Customer("U9", "mira.k"))
        into_merged = await client.post(
            f"/api/agent/customers/{tg_id}/merge", json={"customer_id": third}, headers=headers
        )
        assert into_merged.status_code == 200
        assert into_merged.json()["merge"]["survivor_id"] == web_id
        slack_merge = into_merged.json()["merge"]["id"]
        for body, target, status, words in [
            ({"customer_id": web_id}, web_id, 400, "into itself"),
            ({"customer_id": web_id}, tg_id, 409, "already part of this profile"),
            ({"customer_id": 999999}, web_id, 404, "no customer 999999"),
            ({"customer_id": "x"}, web_id, 400, "customer_id"),
        ]:
            answer = await client.post(
                f"/api/agent/customers/{target}/merge", json=body, headers=headers
            )
            assert answer.status_code == status and words in answer.json()["error"], answer.text
        no_csrf = await client.post(
            f"/api/agent/customers/{web_id}/merge", json={"customer_id": third}
        )
        assert no_csrf.status_code == 403

        for done in (slack_merge, merge_id):
            undone = await client.post(f"/api/agent/customers/merges/{done}/undo", headers=headers)
            assert undone.status_code == 200, undone.text
        twice = await client.post(f"/api/agent/customers/merges/{merge_id}/undo", headers=headers)
        assert twice.status_code == 409 and "already undone" in twice.json()["error"]
        unknown = await client.post("/api/agent/customers/merges/4242/undo", headers=headers)
        assert unknown.status_code == 404

        web_after, tg_after = await profile(web_id), await profile(tg_id)
        assert web_after["merges"] == [] and tg_after["merges"] == []
        assert web_after["conversations"] == web_before["conversations"]
        assert tg_after["attributes"] == tg_before["attributes"]
        assert [n["text"] for n in tg_after["notes"]] == ["prefers <b>Telegram</b>"]
        assert (await row(hub, tg_id)).merged_into is None

    async with login(url, "wri", "writer password") as (writer, _):
        assert (await writer.get(f"/api/agent/customers/{web_id}")).status_code == 403


async def test_merging_both_ways_never_makes_a_cycle(site: Site):
    _, hub = site
    a = await say(hub, "web", "w-a", "first", Customer("w-a", "A"))
    b = await say(hub, "telegram", "b", "second", Customer("b", "B"))
    ana = await hub.agents.by_username("ana")
    assert ana is not None
    merges = CustomerMerges(hub.db)
    await merges.merge(a, b, ana)
    with pytest.raises(ProfileError) as refused:
        await merges.merge(b, a, ana)  # B belongs to A: it is one profile already
    assert refused.value.status == 409
    assert (await row(hub, a)).merged_into is None
