"""Reading the bot's SQLite file directly from tests, to check what was really stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text


def rows(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one SELECT on the test database with a plain (sync) engine."""
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(database_url: str, sql: str, **params: Any) -> None:
    """Run one statement that changes the test database (to set up a past state)."""
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()
