"""Engine, sessions and schema upgrades, for SQLite (the default) and PostgreSQL (asyncpg).

SQLite gets WAL (readers don't block the writer), a busy timeout (a second writer waits instead
of failing with "database is locked") and foreign keys, on every new connection. PostgreSQL
connections are checked before use, so the bot outlives a server restart.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# How long a writer waits for SQLite's one write lock before "database is locked". SQLite's
# busy handler polls with growing sleeps, not in turn, so with many writers and a saturated CPU
# (bench/load.py capacity mode: 29 updates/s, the lock busy most of the time) 5 s was not
# enough: 6 of 1,906 /name answers became apologies. 30 s matches SQLAlchemy's pool timeout.
BUSY_TIMEOUT_MS = 30_000


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder of a file-based SQLite database so a fresh checkout just runs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(database_url: str) -> AsyncEngine:
    ensure_sqlite_folder(database_url)
    is_sqlite = make_url(database_url).get_backend_name() == "sqlite"
    engine = create_async_engine(database_url, pool_pre_ping=not is_sqlite)
    if is_sqlite:

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["configure_logger"] = False
    return config


@contextmanager
def sqlite_migration_lock(database_url: str) -> Iterator[None]:
    """Two processes upgrading one SQLite file at once (``make run`` started twice) would run
    the same DDL twice; an exclusive lock on a file beside the database makes them take turns.
    (PostgreSQL takes an advisory lock in migrations/env.py instead.)"""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    lock_path = Path(url.database).expanduser().with_name(Path(url.database).name + ".migrating")
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_folder(database_url)
    with sqlite_migration_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)


def downgrade_sync(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_to_head(database_url: str) -> None:
    """Run Alembic in a worker thread: its async env starts its own event loop there."""
    await asyncio.to_thread(upgrade_sync, database_url, "head")
