"""The agents' inbox over real HTTP, on SQLite and PostgreSQL: views with their counts, search
over transcripts and notes (wildcards taken literally), paging, labels, readable priority, and
"who is viewing" over the console socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from bot.app import create_app
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import Rating
from tests.bot.test_agent_api import login
from tests.conftest import free_port
from tests.support import serve

Site = tuple[str, Hub, dict[str, int]]


@pytest.fixture
async def site(settings: Settings, database: Database) -> AsyncIterator[Site]:
    """Three handoffs: Marko's (claimed by Ana, with a note), Lena's (queued, frustrated) and
    Ivo's (resolved by Ana with a note and rated 2 with a comment)."""
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
        ana = await hub.agents.create("ana", "correct horse", role="agent", display_name="Ana")
        await hub.agents.create("ben", "battery staple", role="agent", display_name="Ben")
        await hub.agents.create("wri", "writer password", role="writer", display_name="W")
        ids, conversations = {}, {}
        for chat, name, text, reason, score in [
            ("marko", "Marko", "my parcel 100% lost", "requested", 0.0),
            ("lena", "Lena", "refund_now please, this is useless", "frustration", 0.9),
            ("ivo", "Ivo", "change my delivery address", "unanswered", 0.0),
        ]:
            stored = await hub.store.store_incoming(
                IncomingMessage("web", chat, text, Customer(chat, name))
            )
            await hub.handoffs.request(stored.conversation, reason, score, {})
            handoff = await hub.handoffs.open_for(stored.conversation.id)
            assert handoff is not None
            ids[chat] = handoff.id
            conversations[chat] = stored.conversation.id
        await hub.handoffs.claim(ids["marko"], ana)
        await hub.handoffs.add_note(ids["marko"], ana, "customer is a VIP wholesaler")
        await hub.handoffs.claim(ids["ivo"], ana)
        await hub.handoffs.reply(ids["ivo"], ana, "Your address is changed to Main Street.")
        await hub.handoffs.resolve(ids["ivo"], ana, "address updated by hand", True)
        async with hub.db.session() as s:
            s.add(
                Rating(
                    conversation_id=conversations["ivo"],
                    handoff_id=ids["ivo"],
                    kind="csat",
                    score=2,
                    comment="took <b>ages</b>",
                )
            )
            await s.commit()
        yield url, hub, ids


def names(answer: dict[str, Any]) -> list[str]:
    return [h["customer_name"] for h in answer["handoffs"]]


async def test_views_with_counts_and_the_resolved_conversation(site: Site):
    url, _, ids = site
    async with login(url, "ana", "correct horse") as (ana, _csrf):
        default = (await ana.get("/api/agent/handoffs")).json()
        # as the queue always was: every open handoff, the frustrated one first
        assert default["view"] == "open" and names(default) == ["Lena", "Marko"]
        queue = (await ana.get("/api/agent/queue")).json()["handoffs"]
        assert [h["id"] for h in queue] == [h["id"] for h in default["handoffs"]]
        assert default["counts"] == {"mine": 1, "unassigned": 1, "open": 2, "resolved": 1}
        lena = default["handoffs"][0]
        assert lena["priority_text"] == f"frustrated · waiting {lena['waiting_seconds']} s"
        assert names((await ana.get("/api/agent/handoffs?view=mine")).json()) == ["Marko"]
        assert names((await ana.get("/api/agent/handoffs?view=unassigned")).json()) == ["Lena"]
        resolved = (await ana.get("/api/agent/handoffs?view=resolved")).json()["handoffs"]
        assert [(h["customer_name"], h["status"]) for h in resolved] == [("Ivo", "resolved")]
        assert resolved[0]["resolution_note"] == "address updated by hand"
        assert resolved[0]["rating"] == {"score": 2, "comment": "took <b>ages</b>"}
        assert resolved[0]["resolved_at"]
        context = (await ana.get(f"/api/agent/handoffs/{ids['ivo']}")).json()
        assert context["rating"]["score"] == 2 and context["handoff"]["status"] == "resolved"
    async with login(url, "ben", "battery staple") as (ben, _csrf):
        counts = (await ben.get("/api/agent/handoffs?view=mine")).json()["counts"]
        assert counts["mine"] == 0  # Marko is Ana's


async def test_bad_view_parameters_are_a_clear_400(site: Site):
    url, _, _ = site
    async with login(url, "ana", "correct horse") as (ana, _csrf):
        for query in [
            "view=closed",
            "limit=0",
            "limit=100000",
            "offset=-1",
            "q=" + "x" * 201,
            "label=%3Cscript%3E",
            "q=a%00b",
        ]:
            response = await ana.get(f"/api/agent/handoffs?{query}")
            assert response.status_code == 400, query
            assert response.json()["error"], query
    async with login(url, "wri", "writer password") as (writer, _csrf):
        assert (await writer.get("/api/agent/handoffs")).status_code == 403


async def test_search_over_messages_replies_and_notes_with_literal_wildcards(site: Site):
    url, _, _ = site
    async with login(url, "ana", "correct horse") as (ana, _csrf):

        async def found(q: str, view: str = "open") -> list[str]:
            answer = await ana.get("/api/agent/handoffs", params={"view": view, "q": q})
            assert answer.status_code == 200, answer.text
            return names(answer.json())

        assert await found("PARCEL") == ["Marko"]  # a customer message, any case
        assert await found("vip wholesaler") == ["Marko"]  # a private note
        assert await found("main street", "resolved") == ["Ivo"]  # the agent's reply
        assert await found("100%") == ["Marko"]  # % is a percent sign, not "anything"
        assert await found("0%l") == []
        assert await found("refund_now") == ["Lena"]  # _ is an underscore, not "one character"
        assert await found("refund_no_") == []
        assert await found("parcel_") == []
        assert await found("\\") == []
        counted = (await ana.get("/api/agent/handoffs", params={"q": "my"})).json()
        assert counted["counts"] == {"mine": 1, "unassigned": 0, "open": 1, "resolved": 1}


async def test_pages_of_a_view(site: Site):
    url, _, _ = site
    async with login(url, "ana", "correct horse") as (ana, _csrf):
        first = (await ana.get("/api/agent/handoffs?limit=1")).json()
        assert names(first) == ["Lena"] and first["total"] == 2 and first["next_offset"] == 1
        second = (await ana.get("/api/agent/handoffs?limit=1&offset=1")).json()
        assert names(second) == ["Marko"] and second["next_offset"] is None


async def test_labels_added_filtered_and_removed(site: Site):
    url, _, ids = site
    async with (
        login(url, "ana", "correct horse") as (ana, csrf),
        login(url, "ben", "battery staple") as (ben, _ben_csrf),
    ):
        headers = {"X-CSRF-Token": csrf}
        path = f"/api/agent/handoffs/{ids['marko']}/labels"
        refused = await ana.post(path, json={"label": "vip"})
        assert refused.status_code == 403
        added = await ana.post(path, json={"label": "  VIP  "}, headers=headers)
        assert added.status_code == 200 and added.json() == {"labels": ["vip"]}
        again = await ana.post(path, json={"label": "vip"}, headers=headers)
        assert again.json() == {"labels": ["vip"]}
        both = await ana.post(path, json={"label": "Dostava"}, headers=headers)
        assert both.json() == {"labels": ["dostava", "vip"]}
        bad = await ana.post(path, json={"label": "<b>"}, headers=headers)
        assert bad.status_code == 400 and "label" in bad.json()["error"]
        missing = await ana.post(
            "/api/agent/handoffs/999/labels", json={"label": "x"}, headers=headers
        )
        assert missing.status_code == 404
        # another agent sees them, and filters by them
        by_label = (await ben.get("/api/agent/handoffs?label=VIP")).json()
        assert names(by_label) == ["Marko"] and by_label["handoffs"][0]["labels"] == [
            "dostava",
            "vip",
        ]
        assert (await ben.get("/api/agent/labels")).json() == {
            "labels": [
                {"label": "dostava", "conversations": 1},
                {"label": "vip", "conversations": 1},
            ]
        }
        context = (await ben.get(f"/api/agent/handoffs/{ids['marko']}")).json()
        assert context["labels"] == ["dostava", "vip"]
        removed = await ana.delete(f"{path}/vip", headers=headers)
        assert removed.json() == {"labels": ["dostava"]}
        assert names((await ben.get("/api/agent/handoffs?label=vip")).json()) == []


async def test_another_agent_viewing_the_same_conversation_is_announced(site: Site):
    url, _, ids = site
    ws_url = url.replace("http", "ws") + "/api/agent/ws"
    async with (
        login(url, "ana", "correct horse") as (ana, _),
        login(url, "ben", "battery staple") as (ben, _b),
    ):
        cookie = {"Cookie": f"sb_session={ana.cookies['sb_session']}"}
        ben_cookie = {"Cookie": f"sb_session={ben.cookies['sb_session']}"}
        async with (
            websockets.connect(ws_url, additional_headers=cookie) as ana_ws,
            websockets.connect(ws_url, additional_headers=ben_cookie) as ben_ws,
        ):

            async def presence(ws: Any) -> dict[str, Any]:
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if event["type"] == "presence":
                        return dict(event["viewers"])

            await ben_ws.send(json.dumps({"type": "viewing", "handoff_id": ids["marko"]}))
            viewers = {}
            while str(ids["marko"]) not in viewers:
                viewers = await presence(ana_ws)
            assert viewers[str(ids["marko"])] == [{"username": "ben", "display_name": "Ben"}]
            context = (await ana.get(f"/api/agent/handoffs/{ids['marko']}")).json()
            assert [v["display_name"] for v in context["viewers"]] == ["Ben"]
            listed = (await ana.get("/api/agent/handoffs")).json()["viewers"]
            assert listed == {str(ids["marko"]): [{"username": "ben", "display_name": "Ben"}]}
            await ben_ws.send("not json")
            await ben_ws.send(json.dumps({"type": "viewing", "handoff_id": None}))
            while viewers:
                viewers = await presence(ana_ws)
