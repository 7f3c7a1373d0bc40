"""The knowledge API over real HTTP against a real hub (real embedding model, articles in a temp
folder, SQLite): who may do what, saving articles (files on disk, answered at once), per-field
errors, gap clusters, drafts from a real resolved handoff, the history."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from bot.app import create_app
from bot.hub import Hub
from bot.messages import Customer, IncomingMessage
from bot.settings import Settings
from tests.conftest import DEMO_ARTICLES, free_port
from tests.support import serve

IDS = ["reset-password", "track-order", "opening-hours"]
GIFT_CARDS = {
    "id": "gift-cards",
    "language": "en",
    "title": "Gift cards",
    "questions": [
        "can I buy a gift card",
        "do you sell gift vouchers",
        "how do I redeem a gift card",
        "what is my gift card balance",
    ],
    "body": "Gift cards are sold at https://brightcart.example/gift from 10 to 200 EUR.",
    "tags": ["payments"],
}
PASSWORD = "correct horse battery"
ANSWERS = ("Yes, gift cards work in every shop.", "Online too: enter the code at checkout.")


@pytest.fixture(scope="module")
async def site(base_settings: Settings, tmp_path_factory) -> AsyncIterator[tuple[str, Hub]]:
    """One hub for the module (loading the embedding model is the slow part); each test uses
    article ids and gap questions of its own."""
    root = tmp_path_factory.mktemp("knowledge-api")
    articles = root / "articles"
    (articles / "en").mkdir(parents=True)
    (articles / "fa").mkdir()
    for article_id in IDS:
        shutil.copy(DEMO_ARTICLES / "en" / f"{article_id}.md", articles / "en")
    shutil.copy(DEMO_ARTICLES / "fa" / "reset-password.md", articles / "fa")
    hub = Hub(
        base_settings.with_(
            var_dir=root / "var",
            index_dir=root / "var" / "kb-index",
            rasa_managed=False,
            rasa_url=f"http://127.0.0.1:{free_port()}",  # Rasa is not needed here
            articles_dir=articles,
            embedding_models="",  # one model for every language: quick to load
        )
    )
    async with serve(create_app(hub)) as url:
        for name, role in (("wendy", "writer"), ("ana", "agent"), ("root", "admin")):
            await hub.agents.create(name, PASSWORD, role=role)
        while hub.kb.state in ("not loaded", "loading"):
            await asyncio.sleep(0.1)
        assert hub.kb.state == "ready", hub.kb.error
        yield url, hub


@asynccontextmanager
async def login(url: str, username: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        response = await client.post(
            "/api/agent/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield client, {"X-CSRF-Token": response.json()["csrf"]}


def knowledge_routes(hub: Hub) -> list[tuple[str, str]]:
    routes = []
    for path, methods in create_app(hub).openapi()["paths"].items():
        if path.startswith("/api/knowledge"):
            concrete = re.sub(r"\{[^}]+\}", "1", path).replace("/1/1", "/en/x")
            routes.extend((method.upper(), concrete) for method in methods)
    return routes


async def test_the_api_is_documented_and_refuses_anonymous_calls(site):
    url, hub = site
    schema = create_app(hub).openapi()
    article = schema["paths"]["/api/knowledge/articles"]["post"]
    assert article["tags"] == ["knowledge"]
    assert set(article["responses"]) >= {"200", "201", "400"}
    assert "requestBody" in article
    routes = knowledge_routes(hub)
    assert len(routes) >= 10
    async with httpx.AsyncClient(base_url=url) as anonymous:
        for method, path in routes:
            response = await anonymous.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.status_code)


async def test_every_change_needs_the_csrf_token(site):
    url, hub = site
    async with login(url, "wendy") as (client, _):
        for method, path in knowledge_routes(hub):
            if method in ("POST", "DELETE"):
                probe = {**GIFT_CARDS, "id": "csrf-probe"}
                response = await client.request(method, path, json=probe)
                assert response.status_code == 403, (method, path)
                assert "CSRF" in response.json()["error"]
    assert not (hub.kb.articles_dir / "en" / "csrf-probe.md").exists()


async def test_agents_read_but_do_not_change_the_knowledge_base(site):
    url, hub = site
    async with login(url, "ana") as (agent, headers):
        probe = {**GIFT_CARDS, "id": "agent-probe"}
        refused = await agent.post("/api/knowledge/articles", json=probe, headers=headers)
        assert refused.status_code == 403
        assert "writers and admins" in refused.json()["error"]
        dismiss = {"status": "dismissed"}
        gap = await agent.post("/api/knowledge/gaps/1", json=dismiss, headers=headers)
        assert gap.status_code == 403
        assert (await agent.delete("/api/knowledge/drafts/1", headers=headers)).status_code == 403
        listed = await agent.get("/api/knowledge/articles")
        assert listed.status_code == 200
    assert not (hub.kb.articles_dir / "en" / "agent-probe.md").exists()


async def test_writers_do_not_work_handoffs(site):
    url, hub = site
    stored = await hub.store.store_incoming(
        IncomingMessage("web", "c1", "my parcel is lost", Customer("c1", "Marko"))
    )
    await hub.handoffs.request(stored.conversation, "requested", 0.0, {})
    async with login(url, "wendy") as (writer, headers):
        assert (await writer.get("/api/agent/queue")).status_code == 403
        assert (await writer.get("/api/agent/handoffs/1")).status_code == 403
        claim = await writer.post("/api/agent/handoffs/1/claim", headers=headers)
        assert claim.status_code == 403 and "writers" in claim.json()["error"]
        assert (await writer.get("/api/agent/me")).json()["agent"]["role"] == "writer"
        page = await writer.get("/agent/writers")
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        assert "writers.js" in page.text


async def test_a_writer_creates_then_replaces_an_article_and_the_bot_answers_with_it(site):
    url, hub = site
    async with login(url, "wendy") as (client, headers):
        question = {"text": "do you sell gift vouchers?", "language": "en"}
        tried = await client.post("/api/knowledge/try", json=question, headers=headers)
        assert tried.status_code == 200
        assert "gift-cards" not in [c["id"] for c in tried.json()["candidates"]]

        created = await client.post("/api/knowledge/articles", json=GIFT_CARDS, headers=headers)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["created"] is True and body["live_after_seconds"] > 0
        assert body["article"]["path"] == "en/gift-cards.md"
        text = (hub.kb.articles_dir / "en" / "gift-cards.md").read_text()
        assert "  - do you sell gift vouchers" in text and "title: Gift cards" in text

        tried = (await client.post("/api/knowledge/try", json=question, headers=headers)).json()
        assert tried["decision"] == "answer" and tried["candidates"][0]["id"] == "gift-cards"

        replaced = await client.post(
            "/api/knowledge/articles",
            json={**GIFT_CARDS, "title": "Gift cards and vouchers", "handoff": "never"},
            headers=headers,
        )
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["created"] is False
        one = (await client.get("/api/knowledge/articles/en/gift-cards")).json()
        assert one["article"]["title"] == "Gift cards and vouchers"
        assert one["article"]["handoff"] == "never"

        history = (await client.get("/api/knowledge/history?article=gift-cards")).json()
        assert [(c["action"], c["author"]) for c in history["changes"]] == [
            ("replaced", "wendy"),
            ("created", "wendy"),
        ]
        assert history["changes"][0]["fields"] == ["title", "handoff"]
        assert "handoff on_request -> never" in history["changes"][0]["summary"]
        assert (await client.get("/api/knowledge/articles/en/nope")).status_code == 404


async def test_articles_are_listed_side_by_side_with_missing_languages(site):
    url, _ = site
    async with login(url, "ana") as (client, _):
        listing = (await client.get("/api/knowledge/articles")).json()
        assert listing["languages"][0] == "en" and "fa" in listing["languages"]
        rows = {r["id"]: r for r in listing["articles"]}
        assert set(rows) >= set(IDS)
        assert set(rows["reset-password"]["languages"]) == {"en", "fa"}
        assert "fa" in rows["track-order"]["missing"] and "en" not in rows["track-order"]["missing"]
        found = (await client.get("/api/knowledge/articles", params={"q": "PASSWORD"})).json()
        assert [r["id"] for r in found["articles"]] == ["reset-password"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"questions": []}, "questions"),
        ({"questions": ["   "]}, "questions"),
        ({"questions": None}, "questions"),
        ({"id": "../../etc/passwd"}, "id"),
        ({"id": ""}, "id"),
        ({"language": "xx"}, "language"),
        ({"language": "../en"}, "language"),
        ({"title": "  "}, "title"),
        ({"body": ""}, "body"),
        ({"handoff": "sometimes"}, "handoff"),
        ({"tags": "payments"}, "tags"),
        ({"questions": ["x" * 501]}, "questions"),
    ],
)
async def test_invalid_articles_get_400_naming_the_field(site, change, field):
    url, hub = site
    before = sorted(p.name for p in hub.kb.articles_dir.rglob("*"))
    async with login(url, "wendy") as (client, headers):
        response = await client.post(
            "/api/knowledge/articles", json={**GIFT_CARDS, **change}, headers=headers
        )
        assert response.status_code == 400, response.text
        assert field in response.json()["fields"], response.json()
        assert response.json()["error"]
    assert sorted(p.name for p in hub.kb.articles_dir.rglob("*")) == before


async def test_malformed_requests_are_400_not_500(site):
    url, _ = site
    async with login(url, "wendy") as (client, headers):
        missing = await client.post(
            "/api/knowledge/articles", json={"id": "x", "language": "en"}, headers=headers
        )
        assert missing.status_code == 400
        assert {"title", "questions", "body"} <= set(missing.json()["fields"])
        garbage = await client.post(
            "/api/knowledge/articles",
            content=b"{not json",
            headers={**headers, "content-type": "application/json"},
        )
        assert garbage.status_code == 400 and "fields" in garbage.json()
        empty = await client.post("/api/knowledge/try", json={"text": ""}, headers=headers)
        assert empty.status_code == 400 and "text" in empty.json()["fields"]
        wrong = await client.post(
            "/api/knowledge/try", json={"text": "hi", "language": "zz"}, headers=headers
        )
        assert wrong.status_code == 400 and "language" in wrong.json()["fields"]
        status = await client.get("/api/knowledge/gaps", params={"status": "bogus"})
        assert status.status_code == 400
        big = await client.delete(f"/api/knowledge/drafts/{2**70}", headers=headers)
        assert big.status_code == 400


async def test_gap_clusters_are_listed_by_volume_and_can_be_dismissed(site):
    url, hub = site
    for question in ("is there a store in Zagreb", "where is your shop in Zagreb", "zagreb shop"):
        await hub.gaps.record(question, "web:g1", "en", "unknown")
    await hub.gaps.record("do you sell bicycles", "web:g2", "en", "unknown")
    async with login(url, "wendy") as (client, headers):
        clusters = (await client.get("/api/knowledge/gaps")).json()["clusters"]
        assert clusters and clusters[0]["count"] >= clusters[-1]["count"]
        gift = next(c for c in clusters if "where is your shop in Zagreb" in c["questions"])
        assert gift["status"] == "open" and gift["languages"] == ["en"]
        assert {"articles", "agent_answers", "conversations", "first_seen"} <= set(gift)

        dismissed = await client.post(
            f"/api/knowledge/gaps/{gift['id']}", json={"status": "dismissed"}, headers=headers
        )
        assert dismissed.status_code == 200
        assert dismissed.json()["cluster"]["status"] == "dismissed"
        still_open = (await client.get("/api/knowledge/gaps")).json()["clusters"]
        assert gift["id"] not in [c["id"] for c in still_open]
        gone = (await client.get("/api/knowledge/gaps?status=dismissed")).json()["clusters"]
        assert [c["id"] for c in gone] == [gift["id"]]
        every = (await client.get("/api/knowledge/gaps?status=all")).json()["clusters"]
        assert {c["id"] for c in every} >= {c["id"] for c in clusters}
        bad = await client.post(
            f"/api/knowledge/gaps/{gift['id']}", json={"status": "covered"}, headers=headers
        )
        assert bad.status_code == 400 and "status" in bad.json()["fields"]
        missing = await client.post(
            "/api/knowledge/gaps/99999", json={"status": "open"}, headers=headers
        )
        assert missing.status_code == 404


async def test_a_draft_from_a_resolved_handoff_then_published_by_a_writer(site):
    url, hub = site
    customer = Customer("c2", "Iva")

    async def says(text: str, intent: str | None = None) -> None:
        stored = await hub.store.store_incoming(IncomingMessage("web", "c2", text, customer))
        await hub.store.annotate(stored.message.id, intent, 0.9 if intent else None)

    await says("hello", "greet")
    await says("Can I pay with a gift card in the shop?", "question")
    await says("I want to talk to a person", "ask_human")
    conversation = await hub.store.conversation("web:c2")
    assert conversation is not None
    await hub.handoffs.request(conversation, "requested", 0.0, {})
    async with login(url, "ana") as (agent, agent_headers):
        queue = (await agent.get("/api/agent/queue")).json()["handoffs"]
        handoff_id = next(h["id"] for h in queue if h["conversation_key"] == "web:c2")
        early = await agent.post(
            "/api/knowledge/drafts", json={"handoff_id": handoff_id}, headers=agent_headers
        )
        assert early.status_code == 409  # not resolved yet
        await agent.post(f"/api/agent/handoffs/{handoff_id}/claim", headers=agent_headers)
        await says("and online too?")
        for text in ANSWERS:
            sent = await agent.post(
                f"/api/agent/handoffs/{handoff_id}/messages",
                json={"text": text},
                headers=agent_headers,
            )
            assert sent.status_code == 200
        await agent.post(
            f"/api/agent/handoffs/{handoff_id}/resolve",
            json={"note": "explained"},
            headers=agent_headers,
        )
        made = await agent.post(
            "/api/knowledge/drafts", json={"handoff_id": handoff_id}, headers=agent_headers
        )
        assert made.status_code == 201, made.text
        draft = made.json()["draft"]
        assert draft["questions"] == ["Can I pay with a gift card in the shop?", "and online too?"]
        assert draft["body"] == (
            "Yes, gift cards work in every shop.\n\nOnline too: enter the code at checkout."
        )
        assert draft["language"] == "en" and draft["created_by"] == "ana"
        assert draft["article_id"] == "can-i-pay-with-a-gift-card"
        again = await agent.post(
            "/api/knowledge/drafts", json={"handoff_id": handoff_id}, headers=agent_headers
        )
        assert again.status_code == 200 and again.json()["draft"]["id"] == draft["id"]
        missing = await agent.post(
            "/api/knowledge/drafts", json={"handoff_id": 99999}, headers=agent_headers
        )
        assert missing.status_code == 404

    async with login(url, "wendy") as (writer, headers):
        listed = (await writer.get("/api/knowledge/drafts")).json()["drafts"]
        assert [d["id"] for d in listed] == [draft["id"]]
        saved = await writer.post(
            "/api/knowledge/articles",
            json={
                "id": "gift-card-payment",
                "language": "en",
                "title": "Paying with a gift card",
                "questions": draft["questions"],
                "body": draft["body"],
                "draft_id": draft["id"],
            },
            headers=headers,
        )
        assert saved.status_code == 201, saved.text
        assert (await writer.get("/api/knowledge/drafts")).json()["drafts"] == []
        published = (await writer.get("/api/knowledge/drafts?status=published")).json()["drafts"]
        assert published[0]["published_as"] == "en/gift-card-payment"
        deleted = await writer.delete(f"/api/knowledge/drafts/{draft['id']}", headers=headers)
        assert deleted.status_code == 200
        again = await writer.delete(f"/api/knowledge/drafts/{draft['id']}", headers=headers)
        assert again.status_code == 404
