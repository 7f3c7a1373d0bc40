"""Schemathesis fuzzes every operation of the hub's OpenAPI document (read at run time, so new
routes are fuzzed as they appear) against the real app over HTTP: FakeRasa as Rasa, SQLite in a
temp dir. Once anonymous, once as a logged-in agent (cookie + X-CSRF-Token). No answer may be a
5xx. The examples are derandomized: every run sends the same requests, so a failure reproduces.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from bot.app import create_app
from bot.hub import Hub
from bot.settings import Settings
from tests.fake_rasa import FakeRasa
from tests.support import serve

EXAMPLES = 25  # per operation and generation mode
AGENT, PASSWORD = "fuzzer", "fuzz-tester-9-lives"
LAST = {("POST", "/api/agent/logout")}  # ends the session: fuzzed after everything else


@dataclass
class Findings:
    server_errors: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)


@pytest.fixture
async def hub_url(settings: Settings) -> AsyncIterator[tuple[Hub, str]]:
    empty_kb = settings.var_dir / "no-articles"
    empty_kb.mkdir(parents=True)
    async with serve(FakeRasa().app()) as rasa_url:
        hub = Hub(settings.with_(rasa_managed=False, rasa_url=rasa_url, articles_dir=empty_kb))
        async with serve(create_app(hub)) as url:
            yield hub, url


def fuzz(url: str, headers: dict[str, str], cookies: dict[str, str]) -> Findings:
    """Every operation, positive and negative examples; runs in a thread (requests is sync)."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.method.upper(), op.path) in LAST)
    findings = Findings()
    for operation in operations:
        name = f"{operation.method.upper()} {operation.path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, headers=headers, cookies=cookies)
            _run(strategy, _call(url, name, findings))
    return findings


def _call(url: str, name: str, findings: Findings) -> Callable[[Any], None]:
    def call(case: Any) -> None:
        response = case.call(base_url=url, timeout=30)
        findings.calls[name] = findings.calls.get(name, 0) + 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (AssertionError, BaseExceptionGroup):  # schemathesis' failure: keep it, go on
            findings.server_errors.append(
                f"{name} -> {response.status_code} {response.text[:300]}\n"
                f"    reproduce: {case.as_curl_command()}"
            )

    return call


def _run(strategy: Any, call: Callable[[Any], None]) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def examples(case: Any) -> None:
        call(case)

    try:
        examples()
    except Unsatisfiable:  # nothing to break: no parameters, so no negative example exists
        pass


def assert_no_server_errors(findings: Findings) -> None:
    assert findings.calls, "no operation was fuzzed"
    assert findings.server_errors == [], "\n".join(findings.server_errors)


async def test_anonymous_fuzzing_finds_no_server_error(hub_url: tuple[Hub, str]):
    _, url = hub_url
    findings = await asyncio.to_thread(fuzz, url, {}, {})
    assert_no_server_errors(findings)
    assert any(name.startswith("POST /api/chat") for name in findings.calls)


async def test_fuzzing_as_a_logged_in_agent_finds_no_server_error(hub_url: tuple[Hub, str]):
    hub, url = hub_url
    await hub.agents.create(AGENT, PASSWORD, role="admin", display_name="Fuzz")
    async with httpx.AsyncClient(base_url=url) as http:
        login = await http.post("/api/agent/login", json={"username": AGENT, "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf, cookies = login.json()["csrf"], dict(login.cookies)
        assert (await http.get("/api/agent/me")).status_code == 200
    findings = await asyncio.to_thread(fuzz, url, {"X-CSRF-Token": csrf}, cookies)
    assert_no_server_errors(findings)
    assert findings.calls.get("GET /api/agent/queue")
