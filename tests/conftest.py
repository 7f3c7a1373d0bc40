"""Shared fixtures. Tests never reach the internet: non-loopback connections fail loudly."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.settings import ROOT, Settings, load_settings
from bot.storage.db import Database
from bot.storage.repo import Store
from tests.rasa_training import BackgroundTraining

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


TRAINING: list[BackgroundTraining] = []  # Rasa's training, when e2e tests are to run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests last: Rasa trains in the background while the others run."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/"))


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.nodeid.startswith("tests/e2e/") for item in session.items):
        training = BackgroundTraining(load_settings(env_file=Path("/nonexistent")))
        training.start()
        TRAINING.append(training)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for training in TRAINING:
        training.stop()


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return load_settings(env_file=Path("/nonexistent"))


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the newest migration, made once per run: tests copy it (the
    migrations take about half a second, a copy a millisecond; a hub's own `migrate` at start
    then finds nothing to do)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate()
    await db.close()
    return path


def sqlite_copy(template: Path, to: Path) -> str:
    """A private, migrated SQLite database at `to`; its URL."""
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, to)
    return f"sqlite+aiosqlite:///{to}"


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path, sqlite_template: Path) -> Settings:
    var = tmp_path / "var"
    sqlite_copy(sqlite_template, base_settings.with_(var_dir=var).sqlite_path)
    return base_settings.with_(var_dir=var, index_dir=var / "kb-index")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _postgres_database(template: str | None = None) -> str:
    """A new database (a copy of `template`, when given: PostgreSQL copies it in milliseconds)."""
    name = f"supportbot_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    return name


async def _drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def postgres_url(name: str) -> str:
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="session")
async def postgres_template() -> AsyncIterator[str]:
    """A PostgreSQL database at the newest migration, made once per run, that each test's
    database is created from (nobody connects to it after the migrations)."""
    name = await _postgres_database()
    db = Database(postgres_url(name))
    try:
        await db.migrate()
    finally:
        await db.close()
    yield name
    await _drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_template: str
) -> AsyncIterator[Database]:
    """A migrated, empty database: SQLite in a temp dir, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        db = Database(sqlite_copy(sqlite_template, tmp_path / "test.db"))
        yield db
        await db.close()
        return
    name = await _postgres_database(postgres_template)
    db = Database(postgres_url(name))
    try:
        yield db
    finally:
        await db.close()
        await _drop_postgres_database(name)


@pytest.fixture
async def store(database: Database) -> Store:
    return Store(database)


@pytest.fixture
async def sqlite_store(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Store]:
    """For tests about something other than the database itself."""
    db = Database(sqlite_copy(sqlite_template, tmp_path / "test.db"))
    yield Store(db)
    await db.close()


@pytest.fixture(scope="session")
def embedder(base_settings: Settings):  # type: ignore[no-untyped-def]
    from knowledge_base.embedder import Embedder

    return Embedder(base_settings.embedding_model, onnx_dir=base_settings.onnx_dir)


DEMO_ARTICLES = ROOT / "knowledge_base" / "articles"


@pytest.fixture(scope="session")
def demo_kb_cache(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo articles' embedding caches and calibrations as the bot builds them by default
    (en: MiniLM, others: e5), made once per run: the e2e hub and the multilingual tests start
    from a copy (`copy_demo_kb_cache`) instead of each embedding and calibrating everything."""
    from bot.hub import knowledge_base

    cache = tmp_path_factory.mktemp("demo-kb-cache")
    knowledge_base(base_settings.with_(index_dir=cache), DEMO_ARTICLES).build()
    return cache


def copy_demo_kb_cache(cache: Path, to: Path) -> Path:
    """A private copy of `demo_kb_cache` (a hub persists into its index folder)."""
    shutil.copytree(cache, to, dirs_exist_ok=True)
    return to
