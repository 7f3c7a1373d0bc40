"""Agent accounts and login sessions: argon2 password hashes, random session tokens (stored
hashed), a CSRF token per session."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database
from bot.storage.models import Agent, AuthSession, utcnow

ROLES = ("agent", "admin")
USERNAME = re.compile(r"^[a-z0-9_.\-]{2,64}$")
SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Login:
    agent: Agent
    token: str  # goes into the cookie; only its hash is stored
    csrf: str


class AgentDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, username: str, password: str, role: str = "agent", display_name: str | None = None
    ) -> Agent:
        if not USERNAME.match(username):
            raise AccountError("username: 2-64 lowercase letters, digits, '.', '_' or '-'")
        if len(password) < 8:
            raise AccountError("password: at least 8 characters")
        if role not in ROLES:
            raise AccountError(f"role: one of {', '.join(ROLES)}")
        agent = Agent(
            username=username,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
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

    async def login(self, username: str, password: str) -> Login | None:
        agent = await self.by_username(username)
        if agent is None:
            _hasher.hash(password)  # same cost either way: no user enumeration by timing
            return None
        try:
            _hasher.verify(agent.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with self.db.session() as s:
            s.add(
                AuthSession(
                    token_hash=_digest(token),
                    agent_id=agent.id,
                    csrf=csrf,
                    expires_at=utcnow() + SESSION_LIFETIME,
                )
            )
            await s.commit()
        return Login(agent, token, csrf)

    async def session(self, token: str | None) -> tuple[Agent, str] | None:
        """The agent and CSRF token of a live session, or None."""
        if not token:
            return None
        async with self.db.session() as s:
            row = await s.get(AuthSession, _digest(token))
            if row is None:
                return None
            expires = row.expires_at
            if expires.tzinfo is None:  # SQLite returns naive datetimes
                expires = expires.replace(tzinfo=utcnow().tzinfo)
            if expires < utcnow():
                await s.delete(row)
                await s.commit()
                return None
            agent = await s.get(Agent, row.agent_id)
            return (agent, row.csrf) if agent else None

    async def logout(self, token: str | None) -> None:
        if token:
            async with self.db.session() as s:
                await s.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))
                await s.commit()
