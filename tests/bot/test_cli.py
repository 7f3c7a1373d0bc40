"""`supportbot agents ...` against a real SQLite database in a temp dir, as an operator uses it."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.console.auth import AgentDirectory, Login
from bot.storage.db import Database

GOOD = "correct horse battery"


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings as `supportbot` reads them: the environment (and no .env from elsewhere)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", url)
    yield url


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a terminal: read, not asked
    return main(list(argv))


def with_directory(url: str, call):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        db = Database(url)
        try:
            return await call(AgentDirectory(db))
        finally:
            await db.close()

    return asyncio.run(go())


def log_in(url: str, username: str, password: str) -> Login | None:
    return with_directory(url, lambda d: d.login(username, password))  # type: ignore[no-any-return]


def session_alive(url: str, login: Login) -> bool:
    return with_directory(url, lambda d: d.session(login.token)) is not None


def agents_listed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list:
    capsys.readouterr()
    assert run(monkeypatch, "agents", "list", "--json") == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_add_then_list(db_url, monkeypatch, capsys):
    assert run(monkeypatch, "agents", "list") == 0
    assert "No agents yet" in capsys.readouterr().out
    assert run(monkeypatch, "agents", "add", "maria", "--name", "Maria K", stdin=GOOD + "\n") == 0
    assert run(monkeypatch, "agents", "add", "root", "--role", "admin", stdin=GOOD + "\n") == 0
    capsys.readouterr()
    assert run(monkeypatch, "agents", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    header = ["USERNAME", "NAME", "ROLE", "STATUS", "LANGUAGES", "SKILLS", "MAX", "TEAM"]
    assert lines[0].split() == header
    assert lines[1].split() == ["maria", "Maria", "K", "agent", "active", "-", "-", "5", "-"]
    assert lines[2].split() == ["root", "root", "admin", "active", "-", "-", "5", "-"]
    routing = {"languages": [], "skills": [], "max_open": 5, "team": None}
    assert agents_listed(monkeypatch, capsys) == [
        {"username": "maria", "display_name": "Maria K", "role": "agent", "disabled": False}
        | routing,
        {"username": "root", "display_name": "root", "role": "admin", "disabled": False} | routing,
    ]


def test_routing_profile_on_add_and_set(db_url, monkeypatch, capsys):
    argv = ["--languages", "bs,hr", "--skills", "billing", "--max-open", "3", "--team", "support"]
    assert run(monkeypatch, "agents", "add", "ana", *argv, stdin=GOOD) == 0
    assert run(monkeypatch, "agents", "add", "ben", stdin=GOOD) == 0
    assert run(monkeypatch, "agents", "set", "ben", "--languages", "en, sr-cyrl") == 0
    assert "languages en,sr-Cyrl; skills -; max open 5; team -" in capsys.readouterr().out
    capsys.readouterr()
    assert run(monkeypatch, "agents", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["ana", "ana", "agent", "active", "bs,hr", "billing", "3", "support"]
    assert lines[2].split() == ["ben", "ben", "agent", "active", "en,sr-Cyrl", "-", "5", "-"]
    # only what is given changes; '' clears, 'default' gives the capacity back to the setting
    assert run(monkeypatch, "agents", "set", "ana", "--team", "", "--max-open", "default") == 0
    ana = agents_listed(monkeypatch, capsys)[0]
    assert (ana["languages"], ana["skills"], ana["max_open"], ana["team"]) == (
        ["bs", "hr"],
        ["billing"],
        5,
        None,
    )


@pytest.mark.parametrize(
    "argv, error",
    [
        (["--max-open", "lots"], "max_open: a whole number"),
        (["--max-open", "-1"], "max_open: a whole number"),
        (["--languages", "bosnian!"], "languages: 'bosnian!' is not a language tag"),
        (["--skills", "a b"], "skills: 'a b'"),
        ([], "nothing to change"),
    ],
)
def test_set_refuses_bad_routing_values_with_a_reason(db_url, monkeypatch, capsys, argv, error):
    run(monkeypatch, "agents", "add", "ana", stdin=GOOD)
    assert run(monkeypatch, "agents", "set", "ana", *argv) == 2
    assert error in capsys.readouterr().err
    assert run(monkeypatch, "agents", "set", "ghost", "--team", "x") == 2
    assert "error: no agent named 'ghost'" in capsys.readouterr().err


@pytest.mark.parametrize("weak", ["password", "12345678", "password123", "maria", "maria2024xy"])
def test_add_refuses_weak_passwords_with_a_reason(db_url, monkeypatch, capsys, weak):
    assert run(monkeypatch, "agents", "add", "maria", stdin=weak + "\n") == 2
    assert "error: password:" in capsys.readouterr().err
    assert agents_listed(monkeypatch, capsys) == []


def test_disable_logs_out_and_refuses_login_until_enabled(db_url, monkeypatch, capsys):
    run(monkeypatch, "agents", "add", "maria", stdin=GOOD)
    before = log_in(db_url, "maria", GOOD)
    assert before and session_alive(db_url, before)

    assert run(monkeypatch, "agents", "disable", "maria") == 0
    assert "disabled" in capsys.readouterr().out
    assert not session_alive(db_url, before)
    assert log_in(db_url, "maria", GOOD) is None
    assert agents_listed(monkeypatch, capsys)[0]["disabled"] is True

    assert run(monkeypatch, "agents", "enable", "maria") == 0
    assert log_in(db_url, "maria", GOOD)
    assert agents_listed(monkeypatch, capsys)[0]["disabled"] is False


def test_reset_password_from_stdin_ends_sessions(db_url, monkeypatch, capsys):
    run(monkeypatch, "agents", "add", "maria", stdin=GOOD)
    before = log_in(db_url, "maria", GOOD)
    assert before
    new = "staple gun orchestra"
    assert run(monkeypatch, "agents", "reset-password", "maria", "--password-stdin", stdin=new) == 0
    assert "changed" in capsys.readouterr().out
    assert not session_alive(db_url, before)
    assert log_in(db_url, "maria", GOOD) is None
    assert log_in(db_url, "maria", new)


def test_reset_password_applies_the_policy(db_url, monkeypatch, capsys):
    run(monkeypatch, "agents", "add", "maria", stdin=GOOD)
    code = run(
        monkeypatch, "agents", "reset-password", "maria", "--password-stdin", stdin="qwerty123"
    )
    assert code == 2
    assert "most common passwords" in capsys.readouterr().err
    assert log_in(db_url, "maria", GOOD)  # unchanged


@pytest.mark.parametrize(
    "argv",
    [
        ["agents", "disable", "ghost"],
        ["agents", "enable", "ghost"],
        ["agents", "reset-password", "ghost", "--password-stdin"],
    ],
)
def test_unknown_agents_are_an_error(db_url, monkeypatch, capsys, argv):
    assert run(monkeypatch, *argv, stdin=GOOD) == 2
    assert "error: no agent named 'ghost'" in capsys.readouterr().err


def test_an_empty_password_on_stdin_is_an_error(db_url, monkeypatch, capsys):
    run(monkeypatch, "agents", "add", "maria", stdin=GOOD)
    assert run(monkeypatch, "agents", "reset-password", "maria", "--password-stdin") == 2
    assert "no password" in capsys.readouterr().err


def test_help_explains_each_command(monkeypatch, capsys):
    for argv, words in [
        (["agents", "--help"], ["list", "disable", "enable", "reset-password"]),
        (["agents", "reset-password", "--help"], ["--password-stdin", "10 characters"]),
        (["agents", "disable", "--help"], ["sessions end"]),
    ]:
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
        assert all(w in out for w in words), (argv, out)


def test_kb_index_exits_non_zero_and_names_every_broken_article(
    db_url, tmp_path, monkeypatch, capsys
):
    articles = tmp_path / "articles"
    (articles / "en").mkdir(parents=True)
    demo = Path(__file__).resolve().parents[2] / "knowledge_base" / "articles" / "en"
    real = (demo / "reset-password.md").read_text()
    (articles / "en" / "reset-password.md").write_text(real)
    (articles / "en" / "reset-password-copy.md").write_text(real)
    (articles / "en" / "croatian.md").write_text(
        real.replace("id: reset-password", "id: croatian").replace("language: en", "language: hr")
    )
    monkeypatch.setenv("KB_ARTICLES_DIR", str(articles))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("EMBEDDING_MODELS", "minilm")
    assert run(monkeypatch, "kb", "index") == 1
    err = capsys.readouterr().err
    assert "reset-password-copy.md: field 'id'" in err
    assert "croatian.md: field 'language'" in err
    assert "2 article(s) skipped" in err
    (articles / "en" / "reset-password-copy.md").unlink()
    (articles / "en" / "croatian.md").unlink()
    assert run(monkeypatch, "kb", "index") == 0
