"""Reading and changing the bot's test database directly from tests, on SQLite or PostgreSQL.

Everything goes through SQLAlchemy's async engine with the bot's own drivers (aiosqlite,
asyncpg; no sync PostgreSQL driver is installed), run to completion on a fresh event loop in a
worker thread, so these helpers work the same from plain tests and from inside async tests
(where a loop is already running).

PostgreSQL is used when ``TEST_DATABASE_URL`` names a server (``postgresql+asyncpg://user@host:
port/db``, a role that may CREATE DATABASE): every test then gets a database of its own,
``test_<uuid>``, dropped afterwards (``fresh_postgres_database``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, TextClause, bindparam, inspect, text
from sqlalchemy.engine import Connection, Inspector, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

TEST_DATABASE_URL = "TEST_DATABASE_URL"
T = TypeVar("T")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``make()`` to completion on a new event loop in a worker thread and return its
    result (or raise its exception)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def _on_connection(database_url: str, work: Callable[[Connection], T], commit: bool) -> T:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() if commit else engine.connect() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def on_connection(database_url: str, work: Callable[[Connection], T], *, commit: bool = False) -> T:
    """``work(connection)`` with a sync-style SQLAlchemy connection to the test database;
    with ``commit`` it runs in a transaction that is committed."""
    return run_async(lambda: _on_connection(database_url, work, commit))


def _statement(sql: str, params: dict[str, Any]) -> TextClause:
    """``sql`` with datetime parameters typed as the models' DateTime(timezone=True), so each
    dialect gets them as the bot writes them (SQLite: UTC text, PostgreSQL: timestamptz)."""
    typed = [
        bindparam(key, type_=DateTime(timezone=True))
        for key, value in params.items()
        if isinstance(value, datetime)
    ]
    return text(sql).bindparams(*typed)


def rows(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one SELECT on the test database."""
    return on_connection(
        database_url,
        lambda conn: [tuple(row) for row in conn.execute(_statement(sql, params), params)],
    )


def stored_time(value: datetime | str) -> datetime:
    """A timestamp column as ``rows`` reads it back, made an aware UTC datetime (SQLite hands
    back the UTC text the bot wrote, PostgreSQL a timestamptz)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def execute(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one statement that changes the test database (to set up a past state) and commit
    it; returns the rows of its RETURNING clause, if any."""

    def work(conn: Connection) -> list[tuple[Any, ...]]:
        result = conn.execute(_statement(sql, params), params)
        return [tuple(row) for row in result] if result.returns_rows else []

    return on_connection(database_url, work, commit=True)


def inspected(database_url: str, look: Callable[[Inspector], T]) -> T:
    """``look(inspector)`` on the test database's schema."""
    return on_connection(database_url, lambda conn: look(inspect(conn)))


def table_names(database_url: str) -> set[str]:
    return inspected(database_url, lambda i: set(i.get_table_names()))


def column_names(database_url: str, table: str) -> set[str]:
    return inspected(database_url, lambda i: {c["name"] for c in i.get_columns(table)})


def index_names(database_url: str, table: str) -> set[str]:
    return inspected(database_url, lambda i: {str(x["name"]) for x in i.get_indexes(table)})


def postgres_admin_url() -> str | None:
    """The server named by TEST_DATABASE_URL (asyncpg driver), or None when it is unset."""
    raw = os.environ.get(TEST_DATABASE_URL, "").strip()
    if not raw:
        return None
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"{TEST_DATABASE_URL} must be a postgresql+asyncpg:// URL, not {raw!r}")
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def _admin(admin_url: str, *statements: TextClause) -> None:
    engine = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(statement)
    finally:
        await engine.dispose()


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """An empty database ``test_<uuid>`` on the admin URL's server, dropped on exit (with any
    connection a failed test left open); yields its URL."""
    name = f"test_{uuid.uuid4().hex}"
    run_async(lambda: _admin(admin_url, text(f'CREATE DATABASE "{name}"')))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        run_async(
            lambda: _admin(
                admin_url,
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ).bindparams(name=name),
                text(f'DROP DATABASE IF EXISTS "{name}"'),
            )
        )
