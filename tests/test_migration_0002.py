"""Migration 0002 (favourites, generations, game) on top of a database created by 0001."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from bot.db.engine import downgrade_sync, upgrade_sync
from tests.dbutil import execute, rows, table_names

NEW_TABLES = {"name_generations", "favorites", "game_rounds", "game_votes", "game_scores"}


def test_upgrade_from_0001_keeps_settings_and_downgrade_works(database_url: str) -> None:
    upgrade_sync(database_url, "0001")
    execute(
        database_url,
        "INSERT INTO user_settings (user_id, temperature, style, language) "
        "VALUES (42, 0.6, 'ru', 'en')",
    )
    assert not NEW_TABLES & table_names(database_url)

    upgrade_sync(database_url, "0002")
    assert table_names(database_url) >= NEW_TABLES
    settings = rows(database_url, "SELECT user_id, temperature, style, language FROM user_settings")
    assert settings == [(42, 0.6, "ru", "en")]
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [("0002",)]

    downgrade_sync(database_url, "0001")
    assert not NEW_TABLES & table_names(database_url)
    assert rows(database_url, "SELECT user_id FROM user_settings") == [(42,)]
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [("0001",)]
    upgrade_sync(database_url)  # and back up again
    assert table_names(database_url) >= NEW_TABLES
    assert rows(database_url, "SELECT user_id FROM user_settings") == [(42,)]


def test_constraints_one_favourite_per_name_and_one_open_round_per_chat(
    database_url: str,
) -> None:
    upgrade_sync(database_url)
    favorite = (
        "INSERT INTO favorites (user_id, name, style, prefix) VALUES (1, 'Sera', 'en', 'Ser')"
    )
    execute(database_url, favorite)
    execute(database_url, favorite.replace("(1,", "(2,"))  # another user: fine
    with pytest.raises(IntegrityError):
        execute(database_url, favorite)

    round_sql = (
        "INSERT INTO game_rounds (chat_id, started_by, style, language, name, is_real, deadline,"
        " revealed_at) VALUES (-5, 1, 'en', 'en', 'Ann', true, '2030-01-01', {revealed})"
    )
    execute(database_url, round_sql.format(revealed="'2029-01-01'"))  # closed rounds pile up
    execute(database_url, round_sql.format(revealed="'2029-01-02'"))
    execute(database_url, round_sql.format(revealed="NULL"))
    with pytest.raises(IntegrityError):
        execute(database_url, round_sql.format(revealed="NULL"))
    execute(database_url, round_sql.format(revealed="NULL").replace("(-5,", "(-6,"))
    assert rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL") == [
        (2,)
    ]
