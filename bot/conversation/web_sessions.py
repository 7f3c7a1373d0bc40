"""Web-chat credentials: the hub issues a session id and a secret token; the widget keeps both
and proves itself with the token on every call. Only the token's SHA-256 is stored.

Shops whose customers are logged in can vouch for them (identity verification, as Intercom and
Chatwoot do): their server signs the user id with the shared secret, HMAC-SHA256 in hex; a
valid signature gives that user one session on every device, an invalid one is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database, storage_errors
from bot.storage.models import Customer, WebSession, utcnow

log = logging.getLogger(__name__)
CHANNEL = "web"
TOUCH_EVERY = timedelta(hours=1)  # last_seen_at is refreshed at most this often


@dataclass(frozen=True)
class Identity:
    """What the shop's page says about the customer; `user_hash` is the shop's signature."""

    user_id: str | None = None
    user_hash: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Issued:
    session: str
    token: str  # shown once, to the client; never stored
    verified_user: str | None


@dataclass(frozen=True)
class Verified:
    session: str
    verified_user: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, user_id: str) -> str:
    """The signature a shop's server computes for `user_id` (hex HMAC-SHA256)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


class WebSessions:
    def __init__(self, db: Database, identity_secret: str = "", lifetime_days: int = 90) -> None:
        self.db = db
        self.identity_secret = identity_secret
        self.lifetime = timedelta(days=lifetime_days)

    def verify(self, identity: Identity) -> str | None:
        """The user id if the shop's signature is right, else None (the claim is ignored)."""
        if not (self.identity_secret and identity.user_id and identity.user_hash):
            return None
        expected = sign(self.identity_secret, identity.user_id)
        if hmac.compare_digest(expected, identity.user_hash.strip().lower()):
            return identity.user_id
        log.warning(
            "ignored a web session claiming user %r with a wrong signature", identity.user_id
        )
        return None

    def _user_session(self, user_id: str) -> str:
        """A verified user's session id: stable across devices, not guessable from the id."""
        key = hmac.new(self.identity_secret.encode(), b"session:" + user_id.encode(), "sha256")
        return "u-" + key.hexdigest()[:40]

    async def create(self, identity: Identity | None = None) -> Issued:
        """A new credential: a fresh anonymous session, or the verified user's own session.
        Raises StorageUnavailable when the database is down."""
        user = self.verify(identity) if identity else None
        session = self._user_session(user) if user else "w-" + secrets.token_urlsafe(18)
        with storage_errors():
            issued = await self.issue(session, verified_user=user)
            if user and identity:
                await self._remember_customer(session, user, identity)
        return issued

    async def issue(self, session: str, verified_user: str | None = None) -> Issued:
        """A token for a known session id (integrations and tests that choose the id)."""
        token = secrets.token_urlsafe(32)  # 256 random bits
        now = utcnow()
        async with self.db.session() as s:
            s.add(
                WebSession(
                    token_hash=_digest(token),
                    session=session,
                    verified_user=verified_user,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            await s.commit()
        return Issued(session, token, verified_user)

    async def check(self, token: str | None, session: str | None = None) -> Verified | None:
        """The session the token opens (and, if given, only if it is `session`), or None.
        Raises StorageUnavailable when the database is down."""
        if not token or len(token) > 256:
            return None
        with storage_errors():
            return await self._check(token, session)

    async def _check(self, token: str, session: str | None) -> Verified | None:
        async with self.db.session() as s:
            row = await s.get(WebSession, _digest(token))
            if row is None or (
                session is not None and not hmac.compare_digest(row.session, session)
            ):
                return None
            now = utcnow()
            if _aware(row.last_seen_at) + self.lifetime < now:
                return None
            if _aware(row.last_seen_at) + TOUCH_EVERY < now:
                await s.execute(
                    update(WebSession)
                    .where(WebSession.token_hash == row.token_hash)
                    .values(last_seen_at=now)
                )
                await s.commit()
            return Verified(row.session, row.verified_user)

    async def _remember_customer(self, session: str, user: str, identity: Identity) -> None:
        """The customer row carries who the shop says this is, for the agents to see."""
        email = (identity.email or "").strip()[:255] or None
        name = (identity.name or "").strip()[:255] or None
        query = select(Customer).where(Customer.channel == CHANNEL, Customer.external_id == session)
        async with self.db.session() as s:
            customer = (await s.execute(query)).scalar_one_or_none()
            if customer is None:
                customer = Customer(channel=CHANNEL, external_id=session)
                s.add(customer)
            customer.verified_id = user
            customer.email = email or customer.email
            customer.display_name = name or customer.display_name
            try:
                await s.commit()
            except IntegrityError:  # created at the same moment by another request
                await s.rollback()
