"""Agent accounts on a real database (SQLite and PostgreSQL): password policy, hashing off the
event loop, backoff per account and per address, disabling and resetting accounts.

Time passing is simulated by moving the stored failure and session times into the past."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from bot.console.auth import AccountError, AgentDirectory, Throttled, session_id
from bot.console.passwords import WeakPassword, check_password, common_passwords
from bot.storage.db import Database
from bot.storage.models import AuthSession, LoginFailure, utcnow

GOOD = "correct horse battery"
# real argon2 with a small cost: these tests are about what happens around the hash
LIGHT = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def directory(database: Database) -> AgentDirectory:
    return AgentDirectory(database, hasher=LIGHT)


async def age_failures(db: Database, by: timedelta) -> None:
    async with db.session() as s:
        for row in (await s.execute(select(LoginFailure))).scalars():
            row.created_at = row.created_at - by
        await s.commit()


async def failures(db: Database, **where: str) -> int:
    query = select(func.count()).select_from(LoginFailure)
    for column, value in where.items():
        query = query.where(getattr(LoginFailure, column) == value)
    async with db.session() as s:
        return int((await s.execute(query)).scalar_one())


async def fail(directory: AgentDirectory, username: str, times: int, address: str = "10.0.0.1"):
    for _ in range(times):
        assert await directory.login(username, "wrong guess!", address) is None


# ---------------------------------------------------------------- the password policy


@pytest.mark.parametrize(
    "password, why",
    [
        ("password", "common"),
        ("12345678", "common"),
        ("password123", "common"),
        ("PassWord123", "common"),  # compared lowercased
        ("qwertyuiop", "common"),
        ("iloveyou2024!", "common"),  # a common password with digits and symbols tacked on
        ("maria.k", "username"),
        ("Maria.K-is-here", "username"),
        ("short one", "at least 10 characters"),
        ("zzzzzzzzzzzzzz", "one character"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str):
    with pytest.raises(WeakPassword, match=why):
        check_password(password, "maria.k")


@pytest.mark.parametrize("password", [GOOD, "correct horse", "a long password", "Tr0ub4dor&3x"])
def test_reasonable_passwords_pass(password: str):
    check_password(password, "maria.k")


def test_the_shipped_list_is_long_and_lowercased():
    common = common_passwords()
    assert len(common) > 10_000
    assert {"123456", "password", "qwerty", "letmein", "dragon"} <= common
    assert all(p == p.lower() for p in common)


async def test_create_and_reset_apply_the_policy(database: Database, directory: AgentDirectory):
    for weak in ("password", "12345678", "password123", "maria"):
        with pytest.raises(AccountError, match="password"):
            await directory.create("maria", weak)
    assert await directory.by_username("maria") is None
    await directory.create("maria", GOOD)
    with pytest.raises(AccountError, match="common"):
        await directory.reset_password("maria", "password123")
    assert await directory.login("maria", GOOD)


# ---------------------------------------------------------------- hashing off the event loop


class ThreadRecordingHasher(PasswordHasher):
    """The real argon2 hasher; it notes the threads it ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.add(threading.get_ident())
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.threads.add(threading.get_ident())
        return super().verify(hash, password)


async def test_argon2_never_runs_on_the_event_loop_thread(database: Database):
    hasher = ThreadRecordingHasher()
    directory = AgentDirectory(database, hasher=hasher)
    await directory.create("maria", GOOD)
    assert await directory.login("maria", GOOD)
    assert await directory.login("maria", "wrong guess!") is None
    assert await directory.login("nobody", "wrong guess!") is None  # unknown: still one hash
    await directory.reset_password("maria", "another good one")
    assert hasher.threads and threading.get_ident() not in hasher.threads


# ---------------------------------------------------------------- backoff


async def test_five_failures_lock_the_account_even_for_the_right_password(
    database: Database, directory: AgentDirectory
):
    await directory.create("maria", GOOD)
    await fail(directory, "maria", 4)
    assert await directory.login("maria", GOOD, "10.0.0.1")  # 4 failures: still fine
    await fail(directory, "maria", 5)
    with pytest.raises(Throttled) as refused:
        await directory.login("maria", GOOD, "10.0.0.1")
    assert 0 < refused.value.retry_after <= 30
    with pytest.raises(Throttled):  # the account, not the address: another address waits too
        await directory.login("maria", GOOD, "10.0.0.2")
    assert await failures(database, username="maria") == 5  # a refused try is not a guess

    await age_failures(database, timedelta(seconds=31))
    assert await directory.login("maria", GOOD, "10.0.0.1")
    assert await failures(database, username="maria") == 0  # success clears them


async def test_the_wait_doubles_with_each_failure_up_to_a_cap(
    database: Database, directory: AgentDirectory
):
    await fail(directory, "maria", 5)
    waits = []
    for _ in range(3):
        with pytest.raises(Throttled) as refused:
            await directory.login("maria", GOOD, "10.0.0.1")
        waits.append(refused.value.retry_after)
        await age_failures(database, timedelta(seconds=refused.value.retry_after + 1))
        await fail(directory, "maria", 1)  # the one try allowed after the wait, wrong again
    # 30, 60, 120 s from the latest failure (a second or two may have gone by since)
    assert [round(w / 10) * 10 for w in waits] == [30, 60, 120], waits
    async with database.session() as s:  # a long attack: 40 more failures just now
        s.add_all(LoginFailure(username="maria", address="10.9.9.9") for _ in range(40))
        await s.commit()
    with pytest.raises(Throttled) as refused:
        await directory.login("maria", GOOD, "10.0.0.1")
    assert 890 <= refused.value.retry_after <= 900  # capped at 15 minutes


async def test_failures_older_than_the_window_count_for_nothing(
    database: Database, directory: AgentDirectory
):
    await directory.create("maria", GOOD)
    await fail(directory, "maria", 5)
    await age_failures(database, timedelta(minutes=16))
    await fail(directory, "maria", 4)
    assert await directory.login("maria", GOOD, "10.0.0.1")


async def test_twenty_failures_from_one_address_lock_that_address_only(
    database: Database, directory: AgentDirectory
):
    await directory.create("maria", GOOD)
    for i in range(20):  # a spray: a few guesses each at many usernames
        await fail(directory, f"user{i % 7}", 1, address="10.6.6.6")
    with pytest.raises(Throttled) as refused:
        await directory.login("maria", GOOD, "10.6.6.6")
    assert refused.value.retry_after > 0
    assert await directory.login("maria", GOOD, "10.0.0.1")  # maria, from her own machine


async def test_unknown_usernames_are_throttled_like_real_ones(
    database: Database, directory: AgentDirectory
):
    await directory.create("maria", GOOD)
    await fail(directory, "maria", 5)
    await fail(directory, "nobody", 5)
    for username in ("maria", "nobody"):
        with pytest.raises(Throttled) as refused:
            await directory.login(username, "wrong guess!", "10.0.0.1")
        assert 25 <= refused.value.retry_after <= 30


async def test_every_failure_is_logged_and_stored(
    database: Database, directory: AgentDirectory, caplog: pytest.LogCaptureFixture
):
    await directory.create("maria", GOOD)
    with caplog.at_level(logging.WARNING, logger="bot.console.auth"):
        await fail(directory, "maria", 1, address="192.0.2.7")
        await fail(directory, "ghost", 1, address="192.0.2.8")
    logged = [r.getMessage() for r in caplog.records]
    assert any("'maria'" in m and "192.0.2.7" in m for m in logged), logged
    assert any("'ghost'" in m and "192.0.2.8" in m for m in logged), logged
    assert await failures(database, username="maria", address="192.0.2.7") == 1
    assert await failures(database, username="ghost", address="192.0.2.8") == 1


# ---------------------------------------------------------------- sessions and accounts


async def test_a_disabled_agent_cannot_log_in_and_loses_their_sessions(
    database: Database, directory: AgentDirectory
):
    await directory.create("maria", GOOD)
    before = await directory.login("maria", GOOD)
    assert before and await directory.session(before.token)
    await directory.set_disabled("maria", True)
    assert await directory.session(before.token) is None
    assert await directory.login("maria", GOOD) is None  # as if the password were wrong
    await directory.set_disabled("maria", False)
    assert await directory.session(before.token) is None  # enabling does not revive them
    assert await directory.login("maria", GOOD)


async def test_a_reset_ends_every_session_and_the_old_password(
    database: Database, directory: AgentDirectory
):
    await directory.create("maria", GOOD)
    first, second = await directory.login("maria", GOOD), await directory.login("maria", GOOD)
    assert first and second
    await fail(directory, "maria", 5)
    await directory.reset_password("maria", "a brand new phrase")
    assert await directory.session(first.token) is None
    assert await directory.session(second.token) is None
    assert await directory.login("maria", GOOD) is None  # the reset also lifted the lock
    assert await directory.login("maria", "a brand new phrase")
    with pytest.raises(AccountError, match="no agent named 'ghost'"):
        await directory.reset_password("ghost", "a brand new phrase")


async def test_an_expired_session_is_gone(database: Database, directory: AgentDirectory):
    await directory.create("maria", GOOD)
    login = await directory.login("maria", GOOD)
    assert login
    async with database.session() as s:
        await s.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == session_id(login.token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    assert await directory.session(login.token) is None
