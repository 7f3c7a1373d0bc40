"""Agent accounts and login sessions: argon2 password hashes (computed in worker threads, never
on the event loop), random session tokens (stored hashed), a CSRF token per session, and a
backoff on failed logins per account and per client address, kept in the database so that
several hubs on one database share it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.passwords import WeakPassword, check_password
from bot.storage.db import Database
from bot.storage.models import Agent, AuthSession, LoginFailure, utcnow

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "writer", "admin")  # writer: the knowledge base, not handoffs
USERNAME = re.compile(r"^[a-z0-9_.\-]{2,64}$")
SESSION_LIFETIME = timedelta(hours=12)


class AccountError(ValueError):
    pass


class Throttled(Exception):
    """Too many recent failures for this account or address: try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def session_id(token: str) -> str:
    """What the database keeps of a session token (its SHA-256); also names the session."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


@dataclass(frozen=True)
class Backoff:
    """After `per_account` failures for one username (or `per_address` from one address) within
    `window`, each further try waits `base_seconds`, doubling with every failure, at most
    `cap_seconds`, counted from the latest failure."""

    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20
    base_seconds: float = 30.0
    cap_seconds: float = 900.0

    def wait(self, failures: int, latest: datetime | None, limit: int, now: datetime) -> int:
        if failures < limit or latest is None:
            return 0
        delay = min(self.cap_seconds, self.base_seconds * 2 ** (failures - limit))
        remaining = (_aware(latest) + timedelta(seconds=delay) - now).total_seconds()
        return max(0, math.ceil(remaining))


@dataclass(frozen=True)
class Login:
    agent: Agent
    token: str  # goes into the cookie; only its hash is stored
    csrf: str


@dataclass(frozen=True)
class LiveSession:
    id: str  # session_id(token)
    agent: Agent
    csrf: str
    expires_at: datetime


class AgentDirectory:
    def __init__(
        self,
        db: Database,
        backoff: Backoff | None = None,
        hasher: PasswordHasher | None = None,
        parallel_hashes: int = 2,
    ) -> None:
        self.db = db
        self.backoff = backoff or Backoff()
        self.hasher = hasher or PasswordHasher()
        # argon2 is CPU- and memory-heavy: a flood of logins must not take every core
        self._hashing = asyncio.Semaphore(parallel_hashes)

    # ---------------------------------------------------------------- hashing, off the loop

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        async with self._hashing:
            try:
                return await asyncio.to_thread(self.hasher.verify, password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    # ---------------------------------------------------------------- accounts

    async def create(
        self, username: str, password: str, role: str = "agent", display_name: str | None = None
    ) -> Agent:
        if not USERNAME.match(username):
            raise AccountError("username: 2-64 lowercase letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"role: one of {', '.join(ROLES)}")
        _check(password, username)
        agent = Agent(
            username=username,
            display_name=display_name or username,
            password_hash=await self._hash(password),
            role=role,
        )
        async with self.db.session() as s:
            s.add(agent)
            try:
                await s.commit()
            except IntegrityError as exc:
                raise AccountError(f"an agent named '{username}' already exists") from exc
        return agent

    async def all(self) -> list[Agent]:
        async with self.db.session() as s:
            return list((await s.execute(select(Agent).order_by(Agent.username))).scalars())

    async def by_username(self, username: str) -> Agent | None:
        async with self.db.session() as s:
            query = select(Agent).where(Agent.username == username)
            return (await s.execute(query)).scalar_one_or_none()

    async def reset_password(self, username: str, password: str) -> Agent:
        """Set a new password (policy applies), end every session, forget recent failures."""
        agent = await self._existing(username)
        _check(password, username)
        new_hash = await self._hash(password)
        async with self.db.session() as s:
            changed = update(Agent).where(Agent.id == agent.id).values(password_hash=new_hash)
            await s.execute(changed)
            await _end_sessions(s, agent.id)
            await s.execute(delete(LoginFailure).where(LoginFailure.username == username))
            await s.commit()
        return agent

    async def set_disabled(self, username: str, disabled: bool) -> Agent:
        """Disable (which ends every session) or enable an account."""
        agent = await self._existing(username)
        async with self.db.session() as s:
            await s.execute(update(Agent).where(Agent.id == agent.id).values(disabled=disabled))
            if disabled:
                await _end_sessions(s, agent.id)
            await s.commit()
        agent.disabled = disabled
        return agent

    async def _existing(self, username: str) -> Agent:
        agent = await self.by_username(username)
        if agent is None:
            raise AccountError(f"no agent named '{username}'")
        return agent

    # ---------------------------------------------------------------- logging in

    async def login(self, username: str, password: str, address: str = "-") -> Login | None:
        """A new session, or None for a wrong username or password or a disabled account.
        Raises Throttled, without looking at the password, after too many recent failures."""
        username, address = username[:64], address[:64]
        wait = await self.retry_after(username, address)
        if wait:
            log.warning(
                "agent login refused (throttled %d s): username=%r address=%s",
                wait,
                username,
                address,
            )
            raise Throttled(wait)
        agent = await self.by_username(username)
        if agent is None:
            await self._hash(password)  # same cost either way: no user enumeration by timing
            why = "unknown username"
        elif not await self._verify(agent.password_hash, password):
            why = "wrong password"
        elif agent.disabled:
            why = "disabled account"
        else:
            return await self._start_session(agent)
        await self._failed(username, address, why)
        return None

    async def retry_after(self, username: str, address: str) -> int:
        """Seconds before this account or address may try again (0: now)."""
        now = utcnow()
        since = now - self.backoff.window
        async with self.db.session() as s:
            by_account = await _failures(s, LoginFailure.username == username, since)
            by_address = await _failures(s, LoginFailure.address == address, since)
        return max(
            self.backoff.wait(*by_account, self.backoff.per_account, now),
            self.backoff.wait(*by_address, self.backoff.per_address, now),
        )

    async def _failed(self, username: str, address: str, why: str) -> None:
        log.warning("failed agent login (%s): username=%r address=%s", why, username, address)
        async with self.db.session() as s:
            s.add(LoginFailure(username=username, address=address))
            # failures older than the window count for nothing any more
            cutoff = utcnow() - self.backoff.window
            await s.execute(delete(LoginFailure).where(LoginFailure.created_at < cutoff))
            await s.commit()

    async def _start_session(self, agent: Agent) -> Login:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with self.db.session() as s:
            s.add(
                AuthSession(
                    token_hash=session_id(token),
                    agent_id=agent.id,
                    csrf=csrf,
                    expires_at=utcnow() + SESSION_LIFETIME,
                )
            )
            # a successful login clears the account's failures
            await s.execute(delete(LoginFailure).where(LoginFailure.username == agent.username))
            await s.commit()
        return Login(agent, token, csrf)

    async def session(self, token: str | None) -> LiveSession | None:
        """The live session of a cookie: None if unknown, expired, or its agent is disabled."""
        if not token:
            return None
        async with self.db.session() as s:
            row = await s.get(AuthSession, session_id(token))
            if row is None:
                return None
            expires = _aware(row.expires_at)
            if expires < utcnow():
                await s.delete(row)
                await s.commit()
                return None
            agent = await s.get(Agent, row.agent_id)
            if agent is None or agent.disabled:
                return None
            return LiveSession(row.token_hash, agent, row.csrf, expires)

    async def logout(self, token: str | None) -> None:
        if token:
            async with self.db.session() as s:
                await s.execute(
                    delete(AuthSession).where(AuthSession.token_hash == session_id(token))
                )
                await s.commit()


def _check(password: str, username: str) -> None:
    try:
        check_password(password, username)
    except WeakPassword as exc:
        raise AccountError(str(exc)) from None


async def _failures(s: AsyncSession, which: object, since: datetime) -> tuple[int, datetime | None]:
    query = select(func.count(), func.max(LoginFailure.created_at)).where(
        which,  # type: ignore[arg-type]
        LoginFailure.created_at >= since,
    )
    count, latest = (await s.execute(query)).one()
    return int(count), latest


async def _end_sessions(s: AsyncSession, agent_id: int) -> None:
    await s.execute(delete(AuthSession).where(AuthSession.agent_id == agent_id))
