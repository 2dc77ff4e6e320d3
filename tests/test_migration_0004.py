"""Migration 0004 (sex/era/race settings, answers remember controls) on top of 0003."""

from __future__ import annotations

from bot.db.engine import downgrade_sync, upgrade_sync
from tests.dbutil import column_names, execute, rows


def test_settings_and_answers_survive_upgrade_and_downgrade(database_url: str) -> None:
    upgrade_sync(database_url, "0003")
    execute(
        database_url,
        "INSERT INTO user_settings (user_id, temperature, style, language)"
        " VALUES (7, 0.6, 'ru', 'ru')",
    )
    execute(
        database_url,
        "INSERT INTO name_generations (chat_id, user_id, style, prefix, temperature,"
        " names_json) VALUES (7, 7, 'en', 'Ma', 1.0, '[\"Mary\"]')",
    )
    assert "sex" not in column_names(database_url, "user_settings")

    upgrade_sync(database_url, "0004")
    assert {"sex", "era", "race"} <= column_names(database_url, "user_settings")
    settings = rows(
        database_url, "SELECT temperature, style, language, sex, era, race FROM user_settings"
    )
    assert settings == [(0.6, "ru", "ru", None, None, None)]
    answer = rows(database_url, 'SELECT names_json, attributes_json, "full" FROM name_generations')
    assert answer == [('["Mary"]', "{}", False)]  # SQLite says 0: equal to False
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [("0004",)]

    downgrade_sync(database_url, "0003")
    assert "sex" not in column_names(database_url, "user_settings")
    assert "full" not in column_names(database_url, "name_generations")
    assert rows(database_url, "SELECT style FROM user_settings") == [("ru",)]
    assert rows(database_url, "SELECT names_json FROM name_generations") == [('["Mary"]',)]
    upgrade_sync(database_url)
    assert {"sex", "era", "race"} <= column_names(database_url, "user_settings")
