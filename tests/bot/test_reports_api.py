"""The reports API over real HTTP against a real hub (SQLite, the scripted month of
tests/bot/reports_scenario.py): who may read reports, JSON and CSV (headers, formula
escaping), filters, and clear 400s / 404s for bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import create_app
from bot.hub import Hub
from bot.reports.numbers import TABLES
from bot.settings import Settings
from tests.bot.reports_scenario import FROM, PASSWORD, TO, seed
from tests.conftest import free_port
from tests.support import serve

NOVEMBER = {"from": FROM, "to": TO}


@pytest.fixture(scope="module")
async def site(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("reports-api")
    (root / "articles").mkdir()
    hub = Hub(
        base_settings.with_(
            var_dir=root / "var",
            index_dir=root / "var" / "kb-index",
            rasa_managed=False,
            rasa_url=f"http://127.0.0.1:{free_port()}",  # Rasa is not needed here
            articles_dir=root / "articles",
        )
    )
    async with serve(create_app(hub)) as url:
        await seed(hub.db)
        yield url, hub


@pytest.fixture(scope="module")
async def users(site) -> AsyncIterator[dict[str | None, httpx.AsyncClient]]:
    """A logged-in client per account (logging in is slow on purpose: once each), and an
    anonymous one (None)."""
    url, _ = site
    clients: dict[str | None, httpx.AsyncClient] = {}
    try:
        for username in (None, "alice", "wendy", "sam", "root"):
            client = clients[username] = httpx.AsyncClient(base_url=url, timeout=30)
            if username:
                response = await client.post(
                    "/api/agent/login", json={"username": username, "password": PASSWORD}
                )
                assert response.status_code == 200, response.text
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()


ROUTES = ["/api/reports/summary", *(f"/api/reports/{table}" for table in TABLES)]


async def test_reports_need_a_supervisor_or_an_admin(users):
    for route in ROUTES:
        response = await users[None].get(route, params=NOVEMBER)
        assert response.status_code == 401, route
        assert response.json() == {"error": "log in first"}
    for username in ("alice", "wendy"):  # an agent, a writer
        for route in ROUTES:
            response = await users[username].get(route, params={**NOVEMBER, "format": "csv"})
            assert response.status_code == 403, (username, route)
            assert "supervisor and admin" in response.json()["error"]
    for username in ("sam", "root"):  # a supervisor, an admin
        for route in ROUTES:
            response = await users[username].get(route, params=NOVEMBER)
            assert response.status_code == 200, (username, route, response.text)
            assert response.headers["cache-control"] == "no-store"
        summary = (await users[username].get("/api/reports/summary", params=NOVEMBER)).json()
        assert summary["conversations"] == 12
        assert summary["csat"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}


async def test_the_page_is_served_with_the_console_csp(users):
    page = await users[None].get("/agent/reports")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_tables_as_json(users):
    response = await users["sam"].get("/api/reports/agents", params=NOVEMBER)
    body = response.json()
    assert body["table"] == "agents" and (body["from"], body["to"]) == (FROM, TO)
    assert body["columns"] == list(TABLES["agents"])
    assert [(r["agent"], r["handled"], r["csat"]) for r in body["rows"]] == [
        ("alice", 2, 0.0),
        ("bob", 2, 1.0),
    ]


async def test_csv_export_is_a_download_safe_to_open_in_a_spreadsheet(users):
    params = {**NOVEMBER, "format": "csv"}
    response = await users["root"].get("/api/reports/comments", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="comments-2026-11-01-2026-11-30.csv"'
    )
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == list(TABLES["comments"])
    assert [row[1:3] for row in table[1:]] == [
        ["1", "'@wrong article"],
        ["2", "'=1+1 slow and unhelpful"],  # no formula runs when it is opened
    ]
    assert table[2][5:7] == ["alice", "requested"]
    assert table[1][5:7] == ["", ""]  # a bot answer's rating: no agent, no reason


async def test_csv_of_the_daily_numbers(users):
    params = {"from": "2026-11-10", "to": "2026-11-11", "format": "csv"}
    response = await users["sam"].get("/api/reports/daily", params=params)
    assert response.headers["content-disposition"].endswith('"daily-2026-11-10-2026-11-11.csv"')
    assert response.text.splitlines() == [
        "date,conversations,customer_messages,answered,clarified,unknown,handoffs,contained",
        "2026-11-10,2,4,2,1,0,0,2",
        "2026-11-11,1,3,0,0,1,1,0",
    ]


async def test_filters(users):
    client = users["sam"]

    async def summary(**params: str) -> dict:
        response = await client.get("/api/reports/summary", params={**NOVEMBER, **params})
        assert response.status_code == 200, response.text
        return response.json()

    telegram = await summary(channel="telegram")
    assert telegram["conversations"] == 2
    assert telegram["filters"] == {
        "channel": "telegram",
        "language": None,
        "agent": None,
        "reason": None,
    }
    assert (await summary(language="de"))["bot"]["conversations"] == 0
    bob = await summary(agent="bob")
    assert (bob["conversations"], bob["csat"]["score"]) == (2, 1.0)
    policy = await summary(reason="policy")
    assert policy["people"]["resolution"] == {"count": 1, "median": 1200.0, "p90": 1200.0}
    channels = await client.get("/api/reports/channels", params={**NOVEMBER, "language": "fa"})
    assert [r["channel"] for r in channels.json()["rows"]] == ["telegram"]


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("summary", {"from": "2026-02-30"}, 400, "from: '2026-02-30' is not a real date"),
        ("summary", {"from": "30/11/2026"}, 400, "from: expected a date as YYYY-MM-DD"),
        ("daily", {"from": "2026-11-10", "to": "2026-11-01"}, 400, "is before from"),
        ("daily", {"from": "2024-01-01", "to": "2026-01-01"}, 400, "366 at most"),
        ("summary", {"to": "2026-11-31"}, 400, "to: '2026-11-31' is not a real date"),
        ("summary", {"agent": "nobody"}, 400, "no agent named 'nobody'"),
        ("summary", {"reason": "boredom"}, 400, "reason: one of"),
        ("summary", {"from": "2026-11-01-x"}, 400, "from:"),
        ("comments", {"format": "xml"}, 400, "format: json or csv"),
        ("nonsense", {}, 404, "no report table 'nonsense'"),
    ],
)
async def test_bad_input_is_a_clear_4xx(users, path, params, status, message):
    response = await users["sam"].get(f"/api/reports/{path}", params=params)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


async def test_the_api_is_documented(site):
    _, hub = site
    paths = create_app(hub).openapi()["paths"]
    summary = paths["/api/reports/summary"]["get"]
    assert summary["tags"] == ["reports"]
    assert {p["name"] for p in summary["parameters"]} == {
        "from",
        "to",
        "channel",
        "language",
        "agent",
        "reason",
    }
    assert {"400", "401", "403"} <= set(summary["responses"])
    table = paths["/api/reports/{table}"]["get"]
    assert "text/csv" in table["responses"]["200"]["content"]
    assert "404" in table["responses"]
    assert "/agent/reports" not in paths
