"""Migration 0005: 64-bit ids and names of any length, which PostgreSQL enforces and SQLite
never did (on SQLite it changes nothing; the same checks pass there)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError

from bot.db.engine import Database, downgrade_sync, upgrade_sync
from bot.db.favorites import FavoritesRepository
from bot.db.game import GameRepository
from tests.dbutil import execute, rows

# A real training name of the fantasy style (its longest), 101 characters.
LONG_NAME = (
    "Rhabarberbarbarabarbarbarenbartbarbierbierbierbarbärbelbarbezahlbank"
    "rhabarberbarbarabarbarbarbawabawa"
)
DEADLINE = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HUGE = 999_999_999_999_999_999  # the most a button's id may say (18 digits)


async def test_long_names_and_ids_past_32_bits_work_at_head(database_url: str) -> None:
    assert len(LONG_NAME) == 101
    await asyncio.to_thread(upgrade_sync, database_url)
    if database_url.startswith("postgresql"):  # the next ids are past 2**31 - 1
        for sequence in ("name_generations_id_seq", "favorites_id_seq", "game_rounds_id_seq"):
            execute(database_url, f"SELECT setval('{sequence}', 2147483647)")
    else:  # SQLite continues after the largest rowid
        execute(
            database_url,
            "INSERT INTO name_generations (id, chat_id, user_id, style, prefix, temperature,"
            " names_json) VALUES (2147483647, 0, 0, 'en', '', 1.0, '[]')",
        )
        execute(
            database_url,
            "INSERT INTO game_rounds (id, chat_id, started_by, style, name, is_real, deadline,"
            " revealed_at) VALUES (2147483647, 0, 0, 'en', 'A', true, :d, :d)",
            d=DEADLINE,
        )
    db = Database.connect(database_url)
    try:
        favorites, game = FavoritesRepository(db), GameRepository(db)
        generation = await favorites.add_generation(
            -5, 1, "fantasy", LONG_NAME[:50], 1.0, [LONG_NAME]
        )
        assert generation > 2**31 - 1
        stored = await favorites.generation(generation)
        assert stored is not None and stored.names == [LONG_NAME]
        assert await favorites.add_favorite(1, LONG_NAME, "fantasy", LONG_NAME[:50], generation)
        assert [f.name for f in await favorites.page(1)] == [LONG_NAME]
        started = await game.create_round(-5, 1, "fantasy", "en", LONG_NAME, True, DEADLINE)
        assert started is not None and started.id > 2**31 - 1 and started.name == LONG_NAME
        assert await game.vote(started.id, -5, 2, "Bo", True) == "ok"
        # an id a forged button may carry finds nothing (PostgreSQL refused it as an integer)
        assert await favorites.generation(HUGE) is None
        assert await favorites.get(HUGE) is None
        assert not await favorites.remove(1, HUGE)
        assert await game.vote(HUGE, -5, 2, "Bo", True) == "invalid"
        assert await game.reveal(HUGE, -5) is None
        assert not await game.discard_round(HUGE)
    finally:
        await db.close()


def test_downgrade_on_postgresql_shortens_names_and_refuses_big_ids(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: 0005 changes nothing there, its downgrade neither")
    upgrade_sync(database_url, "0005")  # later revisions are not this test's
    execute(
        database_url,
        "INSERT INTO favorites (user_id, name, style, prefix) VALUES (1, :n, 'fantasy', :n)",
        n=LONG_NAME,
    )
    downgrade_sync(database_url, "0004")
    assert rows(database_url, "SELECT name, prefix FROM favorites") == [
        (LONG_NAME[:64], LONG_NAME[:64])
    ]
    upgrade_sync(database_url, "0005")  # not head: later revisions need not be undone here
    execute(database_url, "UPDATE favorites SET generation_id = :g", g=2**31)
    with pytest.raises(DBAPIError, match="out of range"):
        downgrade_sync(database_url, "0004")
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [("0005",)]
