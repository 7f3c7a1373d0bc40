"""The routing API over real HTTP: an admin reads and changes an agent's languages, skills,
capacity and team (CSRF like every write); bad values are a clear 400, never a 500; teams'
hours with whether they are open now."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import create_app
from bot.hub import Hub
from bot.settings import Settings
from tests.bot.test_agent_api import login
from tests.conftest import free_port
from tests.support import serve

TEAMS = """\
teams:
  support:
    time_zone: Europe/Sarajevo
    hours:
      mon-fri: "09:00-17:00"
    closed: [2026-12-25]
"""


@pytest.fixture(scope="module")
async def site(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Hub]]:
    """One hub for the module (the bad values change nothing)."""
    tmp_path = tmp_path_factory.mktemp("routing-api")
    empty_kb = tmp_path / "no-articles"
    empty_kb.mkdir(parents=True)
    (tmp_path / "teams.yml").write_text(TEAMS, encoding="utf-8")
    hub = Hub(
        base_settings.with_(
            var_dir=tmp_path / "var",
            index_dir=tmp_path / "var" / "kb-index",
            rasa_managed=False,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            articles_dir=empty_kb,
            teams_file=tmp_path / "teams.yml",
            routing_max_open=4,
        )
    )
    async with serve(create_app(hub)) as url:
        await hub.agents.create("ana", "correct horse", role="agent", display_name="Ana")
        await hub.agents.create("root", "admin password", role="admin")
        yield url, hub


@pytest.fixture(scope="module")
async def admin(site) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An admin logged in once for the module (argon2 is slow on purpose)."""
    async with login(site[0], "root", "admin password") as logged_in:
        yield logged_in


async def test_an_admin_sets_an_agents_languages_skills_capacity_and_team(site):
    url, _ = site
    async with (
        login(url, "root", "admin password") as (admin, csrf),
        login(url, "ana", "correct horse") as (agent, agent_csrf),
    ):
        shown = (await agent.get("/api/agent/agents/ana")).json()["agent"]
        assert shown == {
            "username": "ana",
            "display_name": "Ana",
            "role": "agent",
            "languages": [],
            "skills": [],
            "max_open": None,
            "capacity": 4,  # ROUTING_MAX_OPEN
            "team": None,
        }
        body = {"languages": ["bs", "sr-cyrl"], "skills": ["Billing"], "max_open": 2}
        refused = await agent.patch(
            "/api/agent/agents/ana", json=body, headers={"X-CSRF-Token": agent_csrf}
        )
        assert refused.status_code == 403 and refused.json() == {"error": "admins only"}
        no_token = await admin.patch("/api/agent/agents/ana", json=body)
        assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]

        changed = await admin.patch(
            "/api/agent/agents/ana", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert changed.status_code == 200, changed.text
        ana = changed.json()["agent"]
        assert (ana["languages"], ana["skills"], ana["capacity"]) == (
            ["bs", "sr-Cyrl"],
            ["billing"],
            2,
        )
        # only what is sent changes; null gives the capacity back to the setting
        again = await admin.patch(
            "/api/agent/agents/ana",
            json={"team": "support", "max_open": None},
            headers={"X-CSRF-Token": csrf},
        )
        ana = again.json()["agent"]
        assert (ana["languages"], ana["team"], ana["max_open"], ana["capacity"]) == (
            ["bs", "sr-Cyrl"],
            "support",
            None,
            4,
        )


@pytest.mark.parametrize(
    "body, error",
    [
        ({"languages": ["<b>bs</b>"]}, "languages: '<b>bs</b>' is not a language tag"),
        ({"languages": "bs"}, "languages"),
        ({"skills": ["a b"]}, "skills: 'a b'"),
        ({"max_open": -1}, "max_open: a whole number from 0"),
        ({"max_open": 10**30}, "max_open"),
        ({"max_open": "3"}, "max_open"),
        ({"team": "x" * 65}, "team"),
        ({"role": "admin"}, "role"),
        ({"languages": ["x"] * 21}, "languages"),
    ],
)
async def test_bad_values_are_a_clear_400(admin, body, error):
    client, csrf = admin
    response = await client.patch(
        "/api/agent/agents/ana", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 400, response.text
    assert error in response.json()["error"]


async def test_an_unknown_agent_is_a_404(admin):
    client, csrf = admin
    missing = await client.patch(
        "/api/agent/agents/ghost", json={"team": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert missing.status_code == 404 and missing.json() == {"error": "no agent 'ghost'"}
    assert (await client.get("/api/agent/agents/ghost")).status_code == 404


async def test_the_teams_hours_are_listed(site):
    url, _ = site
    async with login(url, "ana", "correct horse") as (agent, _):
        teams = (await agent.get("/api/agent/teams")).json()
    assert teams["default_team"] == "support"
    (support,) = teams["teams"]
    assert support["time_zone"] == "Europe/Sarajevo"
    assert support["hours"]["mon"] == ["09:00-17:00"] and support["hours"]["sat"] == []
    assert support["closed"] == ["2026-12-25"]
    assert isinstance(support["open_now"], bool) and support["opens_at"]
