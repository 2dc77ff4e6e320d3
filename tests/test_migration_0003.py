"""Migration 0003 (forum topic of a game round) on top of a database at 0002."""

from __future__ import annotations

from bot.db.engine import downgrade_sync, upgrade_sync
from tests.dbutil import column_names, execute, index_names, rows


def test_open_round_survives_upgrade_and_downgrade(database_url: str) -> None:
    upgrade_sync(database_url, "0002")
    execute(
        database_url,
        "INSERT INTO game_rounds (chat_id, started_by, style, language, name, is_real,"
        " message_id, deadline) VALUES (-5, 1, 'en', 'en', 'Ann', true, 7, '2026-11-23')",
    )
    assert "message_thread_id" not in column_names(database_url, "game_rounds")

    upgrade_sync(database_url, "0003")
    assert "message_thread_id" in column_names(database_url, "game_rounds")
    found = rows(database_url, "SELECT name, message_id, message_thread_id FROM game_rounds")
    assert found == [("Ann", 7, None)]
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [("0003",)]

    downgrade_sync(database_url, "0002")
    assert "message_thread_id" not in column_names(database_url, "game_rounds")
    # one open round per chat, still
    assert "uq_game_rounds_open_chat" in index_names(database_url, "game_rounds")
    assert rows(database_url, "SELECT name FROM game_rounds") == [("Ann",)]
    upgrade_sync(database_url)
    assert "message_thread_id" in column_names(database_url, "game_rounds")
    assert rows(database_url, "SELECT name, message_thread_id FROM game_rounds") == [("Ann", None)]
