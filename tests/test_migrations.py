"""Every migration, one at a time, with data in every table: upgrade, downgrade, upgrade again.

Runs on SQLite and (with TEST_DATABASE_URL) on PostgreSQL. After each step down, the rows of
the tables that remain keep the values of the columns that remain (a table the migration
created goes, with its rows); after the step back up they still do, and new rows get fresh
ids (the sequences survived). The test knows the revisions
from Alembic, so a new migration fails here until it has seed data below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, select

from bot.db.engine import Database, alembic_config, downgrade_sync, upgrade_sync
from bot.db.favorites import FavoritesRepository
from bot.db.game import GameRepository
from bot.db.models import Base
from tests.dbutil import execute, on_connection, rows, table_names

Snapshot = dict[str, list[dict[str, Any]]]
WHEN = datetime(2026, 11, 23, 21, 30, 15, 123456, tzinfo=UTC)


def revisions(database_url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def snapshot(database_url: str) -> Snapshot:
    """Every row of every table but alembic_version, as dicts."""

    def dump(conn: Any) -> Snapshot:
        meta = MetaData()
        meta.reflect(conn)
        return {
            name: [dict(row) for row in conn.execute(select(table)).mappings()]
            for name, table in meta.tables.items()
            if name != "alembic_version"
        }

    return on_connection(database_url, dump)


def projected(table: list[dict[str, Any]], columns: set[str]) -> list[tuple[Any, ...]]:
    ordered = sorted(columns)
    return sorted((tuple(row[c] for c in ordered) for row in table), key=repr)


def assert_kept(before: Snapshot, after: Snapshot) -> None:
    """Each table in ``after`` holds ``before``'s rows, in the columns both have."""
    for name, table in after.items():
        if name not in before or not before[name]:
            continue
        common = set(before[name][0]) & (set(table[0]) if table else set(before[name][0]))
        assert projected(table, common) == projected(before[name], common), name


def seed_0001(url: str, n: int) -> None:
    execute(
        url,
        "INSERT INTO user_settings (user_id, temperature, style, language, created_at,"
        " updated_at) VALUES (:u, 0.6, 'ru', 'en', :t, :t)",
        u=10 + n,
        t=WHEN,
    )


def seed_0002(url: str, n: int) -> None:
    chat, user = -1001000000000 - n, 5_000_000_000 + n  # ids past 32 bits, as Telegram's are
    execute(
        url,
        "INSERT INTO name_generations (chat_id, user_id, style, prefix, temperature, names_json,"
        " created_at) VALUES (:c, :u, 'ru', 'Сер', 1.2, :names, :t)",
        c=chat,
        u=user,
        names='["Серафима", "Zoë"]',
        t=WHEN,
    )
    ((generation,),) = rows(url, "SELECT max(id) FROM name_generations")
    execute(
        url,
        "INSERT INTO favorites (user_id, name, style, prefix, generation_id, created_at)"
        " VALUES (:u, 'Серафима', 'ru', 'Сер', :g, :t)",
        u=user,
        g=generation,
        t=WHEN,
    )
    for revealed in (WHEN, None):  # a closed round and the chat's open one
        execute(
            url,
            "INSERT INTO game_rounds (chat_id, started_by, style, language, name, is_real,"
            " message_id, deadline, created_at, revealed_at)"
            " VALUES (:c, :u, 'en', 'en', 'Ann', true, :m, :d, :t, :r)",
            c=chat,
            u=user,
            m=2**40 + n,
            d=WHEN + timedelta(seconds=30),
            t=WHEN,
            r=revealed,
        )
    ((round_id,),) = rows(url, "SELECT max(id) FROM game_rounds")
    execute(
        url,
        "INSERT INTO game_votes (round_id, user_id, display_name, says_real, updated_at)"
        " VALUES (:r, :u, 'Анна ✨', false, :t)",
        r=round_id,
        u=user,
        t=WHEN,
    )
    execute(
        url,
        "INSERT INTO game_scores (chat_id, user_id, display_name, points, rounds, updated_at)"
        " VALUES (:c, :u, 'Анна ✨', 3, 5, :t)",
        c=chat,
        u=user,
        t=WHEN,
    )


def seed_0003(url: str, n: int) -> None:
    execute(
        url,
        "INSERT INTO game_rounds (chat_id, started_by, style, language, name, is_real,"
        " message_id, message_thread_id, deadline) VALUES (:c, 1, 'fantasy', 'ru', 'Elrond',"
        " false, 7, 42, :d)",
        c=-2001000000000 - n,
        d=WHEN,
    )


def seed_0004(url: str, n: int) -> None:
    execute(
        url,
        "INSERT INTO user_settings (user_id, temperature, style, language, sex, era, race)"
        " VALUES (:u, 1.3, 'fantasy', 'ru', 'f', NULL, 'elf')",
        u=40 + n,
    )
    execute(
        url,
        "INSERT INTO name_generations (chat_id, user_id, style, prefix, temperature, names_json,"
        ' attributes_json, "full") VALUES (1, 1, :s, :p, 0.9, :names, :a, true)',
        s="en",
        p="Ma len:5",
        names='["Mary Ann Smith"]',
        a='{"era": "1920", "sex": "f"}',
    )


def seed_0005(url: str, n: int) -> None:
    execute(
        url,
        "INSERT INTO favorites (user_id, name, style, prefix, generation_id)"
        " VALUES (:u, :name, 'fantasy', '', :g)",
        u=50 + n,
        name="Second-To-Last-May-You-Fare-Better",  # within 64: a downgrade keeps it whole
        g=2**31 - 1,  # within 32 bits: a downgrade keeps it (test_migration_0005 goes past)
    )


LONG_PHRASE = (
    "Анна Аркадьевна читала и понимала, но ей неприятно было читать, то есть следить за "
    "отражением жизни других людей."
)  # past 64 characters: a phrase favourite must keep all of it


def seed_0006(url: str, n: int) -> None:
    execute(
        url,
        "INSERT INTO name_generations (chat_id, user_id, style, prefix, temperature, names_json,"
        " kind) VALUES (:c, :u, 'tolstoy', 'Анна', 0.8, :phrases, 'phrase')",
        c=-3001000000000 - n,
        u=60 + n,
        phrases=f'["{LONG_PHRASE}", "Mmm… beer."]',
    )
    ((generation,),) = rows(url, "SELECT max(id) FROM name_generations")
    execute(
        url,
        "INSERT INTO favorites (user_id, name, style, prefix, generation_id, kind)"
        " VALUES (:u, :name, 'tolstoy', 'Анна', :g, 'phrase')",
        u=60 + n,
        name=LONG_PHRASE,
        g=generation,
    )


def seed_0007(url: str, n: int) -> None:
    execute(
        url,
        "INSERT INTO job_runs (name, last_run_at, holder) VALUES (:name, :t, 'host:1:abc')",
        name=f"prune-{n}",
        t=WHEN,
    )
    execute(
        url,
        "INSERT INTO processed_updates (bot_id, update_id, processed_at) VALUES (:b, :u, :t)",
        b=123456,
        u=2**40 + n,  # the fake Bot API's ids count from the clock in milliseconds
        t=WHEN,
    )
    execute(
        url,
        "INSERT INTO review_replies (chat_id, review_message_id, answer_message_id, created_at)"
        " VALUES (:c, :r, :a, :t)",
        c=-1001000000000 - n,
        r=2**33 + n,
        a=2**33 + n + 1,
        t=WHEN,
    )


def seed_0008(url: str, n: int) -> None:
    for name, removed_at in (("Ann", None), ("Bo", WHEN)):  # kept, and removed by 🗑
        execute(
            url,
            "INSERT INTO favorites (user_id, name, style, prefix, created_at, removed_at)"
            " VALUES (:u, :name, 'en', '', :t, :r)",
            u=80 + n,
            name=name,
            t=WHEN,
            r=removed_at,
        )


SEEDS: dict[str, Callable[[str, int], None]] = {
    "0001": seed_0001,
    "0002": seed_0002,
    "0003": seed_0003,
    "0004": seed_0004,
    "0005": seed_0005,
    "0006": seed_0006,
    "0007": seed_0007,
    "0008": seed_0008,
}

# Rows a step down deletes on purpose (its docstring says why): (table, row) -> gone?
DROPPED_BY_DOWNGRADE: dict[str, Callable[[str, dict[str, Any]], bool]] = {
    "0008": lambda table, row: table == "favorites" and row["removed_at"] is not None,
}


def without_dropped(revision: str, before: Snapshot) -> Snapshot:
    dropped = DROPPED_BY_DOWNGRADE.get(revision)
    if dropped is None:
        return before
    kept = {
        name: [row for row in table if not dropped(name, row)] for name, table in before.items()
    }
    assert kept != before, f"seed_{revision} has no row its downgrade deletes"
    return kept


def test_every_migration_goes_down_and_up_again_with_data(database_url: str) -> None:
    steps = revisions(database_url)
    assert steps[0] == "0001"
    missing = set(steps) - set(SEEDS)
    assert not missing, f"add seed data for migration(s) {sorted(missing)} to this test"

    previous = "base"
    for number, revision in enumerate(steps):
        upgrade_sync(database_url, revision)
        SEEDS[revision](database_url, 2 * number)
        before = snapshot(database_url)
        assert all(before.values()), before  # every table has rows

        downgrade_sync(database_url, previous)
        down = snapshot(database_url)
        assert set(down) <= set(before)
        assert_kept(without_dropped(revision, before), down)
        expected = [] if previous == "base" else [(previous,)]
        assert rows(database_url, "SELECT version_num FROM alembic_version") == expected

        upgrade_sync(database_url, revision)
        up = snapshot(database_url)
        assert set(up) == set(before)
        assert_kept(down, up)  # what survived the step down survives the step up
        SEEDS[revision](database_url, 2 * number + 1)  # new rows next to the old ones
        previous = revision

    assert rows(database_url, "SELECT version_num FROM alembic_version") == [(steps[-1],)]
    at_head = snapshot(database_url)
    downgrade_sync(database_url, "base")
    assert table_names(database_url) <= {"alembic_version"}
    upgrade_sync(database_url)
    assert all(not table for table in snapshot(database_url).values())
    assert set(snapshot(database_url)) == set(at_head)


async def test_new_rows_after_the_round_trip_get_fresh_ids(database_url: str) -> None:
    """Ids keep counting after data went down and up: a serial's sequence on PostgreSQL, the
    rowid on SQLite."""
    steps = revisions(database_url)
    await asyncio.to_thread(upgrade_sync, database_url, steps[-1])
    for number, revision in enumerate(steps):
        SEEDS[revision](database_url, number)
    await asyncio.to_thread(downgrade_sync, database_url, "0002")  # every table stays
    await asyncio.to_thread(upgrade_sync, database_url)
    for number, revision in enumerate(steps):
        SEEDS[revision](database_url, 10 + number)
    top = {
        table: rows(database_url, f"SELECT max(id) FROM {table}")[0][0]
        for table in ("name_generations", "favorites", "game_rounds")
    }
    db = Database.connect(database_url)
    try:
        favorites, game = FavoritesRepository(db), GameRepository(db)
        generation = await favorites.add_generation(7, 7, "en", "Ma", 1.0, ["Mary"])
        assert generation > top["name_generations"]
        assert await favorites.add_favorite(7, "Mary", "en", "Ma", generation)
        (saved,) = await favorites.page(7)
        assert saved.id > top["favorites"] and saved.saved_at.tzinfo is not None
        started = await game.create_round(-7, 7, "en", "en", "Mary", True, WHEN)
        assert started is not None and started.id > top["game_rounds"]
        assert started.deadline == WHEN
    finally:
        await db.close()


def test_the_schema_at_head_is_what_the_models_say(database_url: str) -> None:
    """Alembic's autogenerate finds nothing to add, drop or retype at head: the models (which
    the repositories' SQL is built from) and the migrations agree. Two known differences are
    left out: timestamps are nullable in the schema (the models always fill them), and on
    SQLite VARCHAR(64) vs TEXT (SQLite enforces neither; 0005 widens them on PostgreSQL)."""
    upgrade_sync(database_url)

    def differences(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    ignored = {"modify_nullable"} | ({"modify_type"} if "sqlite" in database_url else set())
    found = [
        change
        for diff in on_connection(database_url, differences)
        for change in (diff if isinstance(diff, list) else [diff])
        if change[0] not in ignored
    ]
    assert found == []


def test_instances_starting_together_upgrade_the_database_once(database_url: str) -> None:
    """Several bot instances started at once on one empty database (webhook mode behind a
    load balancer) all upgrade it at start-up; on PostgreSQL they take turns on an advisory
    lock (SQLite: a file lock beside the database, for ``make run`` started twice), so none
    fails on a table another one just created, and all end at head. Separate processes, as
    instances are (Alembic's context is global to a process)."""
    import subprocess
    import sys

    script = "import sys; from bot.db.engine import upgrade_sync; upgrade_sync(sys.argv[1])"
    starts = [
        subprocess.Popen([sys.executable, "-c", script, database_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    failures = [p.stderr.read().decode()[-2000:] for p in starts if p.wait(timeout=120) != 0]
    assert failures == []
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    current = on_connection(
        database_url, lambda c: MigrationContext.configure(c).get_current_heads()
    )
    assert list(current) == [head]
