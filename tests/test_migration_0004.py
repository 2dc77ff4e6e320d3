"""Migration 0004 (sex/era/race settings, answers remember controls) on top of 0003."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from bot.db.engine import downgrade_sync, upgrade_sync


def columns(engine: object, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}  # type: ignore[arg-type]


def test_settings_and_answers_survive_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade_sync(url, "0003")
    engine = create_engine(url.replace("+aiosqlite", ""))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO user_settings (user_id, temperature, style, language)"
                " VALUES (7, 0.6, 'ru', 'ru')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO name_generations (chat_id, user_id, style, prefix, temperature,"
                " names_json) VALUES (7, 7, 'en', 'Ma', 1.0, '[\"Mary\"]')"
            )
        )
    assert "sex" not in columns(engine, "user_settings")

    upgrade_sync(url)
    assert {"sex", "era", "race"} <= columns(engine, "user_settings")
    with engine.connect() as conn:
        settings = conn.execute(
            text("SELECT temperature, style, language, sex, era, race FROM user_settings")
        )
        assert settings.all() == [(0.6, "ru", "ru", None, None, None)]
        answer = conn.execute(
            text("SELECT names_json, attributes_json, full FROM name_generations")
        )
        assert answer.all() == [('["Mary"]', "{}", 0)]
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"

    downgrade_sync(url, "0003")
    assert "sex" not in columns(engine, "user_settings")
    assert "full" not in columns(engine, "name_generations")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT style FROM user_settings")).scalars().all() == ["ru"]
    upgrade_sync(url)
    engine.dispose()
