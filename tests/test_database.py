"""``Database.run``: one transaction per call, committed or rolled back, on either path."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.engine import Database, upgrade_to_head
from bot.db.models import UserSettings


class Refused(Exception):
    pass


@pytest.mark.parametrize("threads", [0, 2], ids=["on-the-loop", "threads"])
async def test_work_commits_when_it_returns_and_rolls_back_when_it_raises(
    database_url: str, threads: int
) -> None:
    await upgrade_to_head(database_url)
    db = Database.connect(database_url, threads=threads)
    try:

        def add(session: Session) -> int:
            session.add(UserSettings(user_id=1, temperature=0.5))
            session.flush()
            return 1

        assert await db.run(add) == 1

        def add_then_fail(session: Session) -> None:
            session.add(UserSettings(user_id=2, temperature=0.5))
            session.flush()  # written inside the transaction...
            raise Refused  # ...and rolled back with it

        with pytest.raises(Refused):
            await db.run(add_then_fail)
        kept = await db.scalars(select(UserSettings.user_id).order_by(UserSettings.user_id))
        assert kept == [1]
        assert (await db.get(UserSettings, 1)).temperature == 0.5  # type: ignore[union-attr]
        # closed connections are reopened on the next call (the outage tests rely on it)
        await db.dispose()
        assert await db.scalar(select(UserSettings.temperature)) == 0.5
        await db.ping()
    finally:
        await db.close()


async def test_sqlite_work_runs_off_the_event_loop_thread(tmp_path: object) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    await upgrade_to_head(url)
    loop_thread = threading.current_thread()
    for threads, off_loop in ((0, False), (3, True)):
        db = Database.connect(url, threads=threads)
        try:
            assert db.runs_in_threads is off_loop
            ran_in = await db.run(lambda _session: threading.current_thread())
            assert (ran_in is not loop_thread) is off_loop
            if off_loop:
                assert ran_in.name.startswith("sqlite")
        finally:
            await db.close()


async def test_postgresql_and_in_memory_sqlite_stay_on_the_loop(database_url: str) -> None:
    """A second engine could not see an in-memory SQLite database, and asyncpg's network I/O
    belongs on the loop: only a SQLite file gets the threads."""
    db = Database.connect("sqlite+aiosqlite:///:memory:")
    try:
        assert not db.runs_in_threads
        assert await db.run(lambda session: session.scalar(select(1))) == 1
    finally:
        await db.close()
    on_file = Database.connect(database_url)
    try:
        assert on_file.runs_in_threads is database_url.startswith("sqlite")
    finally:
        await on_file.close()
