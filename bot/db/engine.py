"""Engine, units of work and schema upgrades, for SQLite (the default) and PostgreSQL (asyncpg).

SQLite gets WAL (readers don't block the writer), a busy timeout (a second writer waits instead
of failing with "database is locked") and foreign keys, on every new connection. PostgreSQL
connections are checked before use, so the bot outlives a server restart.

Repositories run every transaction through ``Database.run`` (see there for why it is not an
``AsyncSession`` on SQLite).
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, Row, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# How long a writer waits for SQLite's one write lock before "database is locked". SQLite's
# busy handler polls with growing sleeps, not in turn, so with many writers and a saturated CPU
# (bench/load.py capacity mode: 29 updates/s, the lock busy most of the time) 5 s was not
# enough: 6 of 1,906 /name answers became apologies. 30 s matches SQLAlchemy's pool timeout.
BUSY_TIMEOUT_MS = 30_000
# Threads (and pooled connections) that run SQLite transactions. Writes take turns on SQLite's
# one write lock whatever the number; a few let reads (WAL) overlap a write without a crowd of
# writers polling the lock.
SQLITE_THREADS = 4


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder of a file-based SQLite database so a fresh checkout just runs."""
    if is_sqlite_file(database_url):
        Path(make_url(database_url).database or "").expanduser().parent.mkdir(
            parents=True, exist_ok=True
        )


def is_sqlite_file(database_url: str | sqlalchemy.URL) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(database_url: str) -> AsyncEngine:
    ensure_sqlite_folder(database_url)
    is_sqlite = make_url(database_url).get_backend_name() == "sqlite"
    engine = create_async_engine(database_url, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


class Database:
    """Where every repository runs its transactions: ``await db.run(work)`` calls
    ``work(session)`` with a plain (sync) ORM ``Session`` inside one transaction, committed
    when ``work`` returns and rolled back when it raises (the exception comes through).

    Why not an ``AsyncSession`` throughout: on SQLite, aiosqlite sends every cursor, execute,
    fetch, close, commit and reset across to its thread and back on its own (about six hops
    per transaction), and SQLAlchemy's greenlet bridge switches at each one: 0.6-1.6 ms of
    event-loop CPU per transaction (``bench/db_calls.py``), three transactions per ``/name``,
    where the same transaction on a plain sqlite3 connection costs 0.4-0.9 ms of CPU in all.
    So on a SQLite file the whole transaction runs in one of ``SQLITE_THREADS`` threads, one
    hop from the loop, on the same sqlite3 driver (same locking and transaction rules) with
    the same pragmas. Anything else (PostgreSQL on asyncpg, an in-memory SQLite that a second
    engine could not see) runs ``work`` through ``AsyncSession.run_sync`` on the loop, where
    asyncpg does its network I/O best.
    """

    def __init__(self, engine: AsyncEngine, threads: int = SQLITE_THREADS) -> None:
        self.engine = engine  # the AsyncSession path; tests query through it too
        self.sessions = session_factory(engine)
        self.dialect = engine.dialect.name  # "sqlite" or "postgresql": whose INSERT to build
        self._sync_engine: Engine | None = None
        self._sync: sessionmaker[Session] | None = None
        self._threads: ThreadPoolExecutor | None = None
        if threads > 0 and is_sqlite_file(engine.url):  # 0: on the loop (bench/db_calls.py)
            self._sync_engine = _sqlite_sync_engine(engine.url, threads)
            self._sync = sessionmaker(self._sync_engine, expire_on_commit=False)
            self._threads = ThreadPoolExecutor(threads, thread_name_prefix="sqlite")

    @classmethod
    def connect(cls, database_url: str, threads: int = SQLITE_THREADS) -> Database:
        return cls(create_engine(database_url), threads)

    @property
    def runs_in_threads(self) -> bool:
        """Whether transactions run in the SQLite threads (else through ``AsyncSession``)."""
        return self._sync is not None

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one transaction; its result, or its exception."""
        if self._sync is not None and self._threads is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self._run_here, work)
        async with self.sessions() as session, session.begin():
            return await session.run_sync(work)

    # One statement, one transaction: the shapes repositories need most.

    async def rowcount(self, statement: Executable) -> int:
        """Rows an UPDATE or DELETE touched."""
        return await self.run(lambda session: session.execute(statement).rowcount or 0)

    async def scalar(self, statement: Executable) -> Any:
        return await self.run(lambda session: session.scalar(statement))

    async def scalars(self, statement: Executable) -> list[Any]:
        return await self.run(lambda session: list(session.scalars(statement)))

    async def rows(self, statement: Executable) -> list[Row[Any]]:
        return await self.run(lambda session: list(session.execute(statement)))

    async def get(self, entity: type[T], key: object) -> T | None:
        return await self.run(lambda session: session.get(entity, key))

    def _run_here(self, work: Callable[[Session], T]) -> T:
        assert self._sync is not None
        with self._sync.begin() as session:
            return work(session)

    async def ping(self) -> None:
        """Raise unless the database answers a ``SELECT 1`` (the health check)."""
        await self.run(lambda session: session.execute(text("SELECT 1")).scalar_one())

    async def dispose(self) -> None:
        """Close every pooled connection (new ones open on the next use)."""
        await self.engine.dispose()
        if self._sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._threads, self._sync_engine.dispose
            )

    async def close(self) -> None:
        """``dispose``, then stop the SQLite threads once their transactions have ended (in a
        worker, so the loop is not held meanwhile): the end of the application."""
        await self.dispose()
        if self._threads is not None:
            await asyncio.to_thread(self._threads.shutdown, wait=True)


def _sqlite_sync_engine(url: sqlalchemy.URL, threads: int) -> Engine:
    """The stdlib sqlite3 engine on the same file: one pooled connection per thread, shared
    across threads (each is used by one transaction at a time)."""
    engine = sqlalchemy.create_engine(
        url.set(drivername="sqlite+pysqlite"),
        pool_size=threads,
        max_overflow=0,
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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
