"""Engine, sessions and migrations for SQLite (default) or PostgreSQL (`DATABASE_URL`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or used right now; the caller answers 503 and retries."""


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database is unavailable, not that the data or query is wrong."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, IntegrityError | DataError):
        return False
    return isinstance(exc, DBAPIError | OSError | ConnectionError)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn a database outage raised inside the block into StorageUnavailable."""
    try:
        yield
    except StorageUnavailable:
        raise
    except Exception as exc:
        if is_outage(exc):
            raise StorageUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc
        raise


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` / `sqlite://` URLs and pick the async drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and "+" not in url.split("://", 1)[0]:
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        if self.url.startswith("sqlite"):
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        # a pooled connection that died with the server is replaced, not handed out: the hub
        # recovers by itself when the database is back
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=True)
        if self.url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        # Alembic's env.py runs its own event loop, so it gets a thread of its own.
        await asyncio.to_thread(command.upgrade, config, "head")

    def session(self) -> AsyncSession:
        return self.sessions()

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
