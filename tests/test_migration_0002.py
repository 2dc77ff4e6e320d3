"""Migration 0002 (favourites, generations, game) on top of a database created by 0001."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.db.engine import downgrade_sync, upgrade_sync

NEW_TABLES = {"name_generations", "favorites", "game_rounds", "game_votes", "game_scores"}


def test_upgrade_from_0001_keeps_settings_and_downgrade_works(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade_sync(url, "0001")
    engine = create_engine(url.replace("+aiosqlite", ""))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO user_settings (user_id, temperature, style, language) "
                "VALUES (42, 0.6, 'ru', 'en')"
            )
        )
    assert not NEW_TABLES & set(inspect(engine).get_table_names())

    upgrade_sync(url, "0002")
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    with engine.connect() as conn:
        settings = conn.execute(text("SELECT * FROM user_settings")).mappings().all()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert [(s["user_id"], s["temperature"], s["style"], s["language"]) for s in settings] == [
        (42, 0.6, "ru", "en")
    ]
    assert version == "0002"

    downgrade_sync(url, "0001")
    inspector = inspect(engine)
    assert not NEW_TABLES & set(inspector.get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT user_id FROM user_settings")).scalars().all() == [42]
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    upgrade_sync(url)  # and back up again
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    engine.dispose()


def test_constraints_one_favourite_per_name_and_one_open_round_per_chat(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    upgrade_sync(url)
    engine = create_engine(url.replace("+aiosqlite", ""))
    favorite = (
        "INSERT INTO favorites (user_id, name, style, prefix) VALUES (1, 'Sera', 'en', 'Ser')"
    )
    with engine.begin() as conn:
        conn.execute(text(favorite))
        conn.execute(text(favorite.replace("(1,", "(2,")))  # another user: fine
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(favorite))

    round_sql = (
        "INSERT INTO game_rounds (chat_id, started_by, style, language, name, is_real, deadline,"
        " revealed_at) VALUES (-5, 1, 'en', 'en', 'Ann', 1, '2030-01-01', {revealed})"
    )
    with engine.begin() as conn:
        conn.execute(text(round_sql.format(revealed="'2029-01-01'")))  # closed rounds pile up
        conn.execute(text(round_sql.format(revealed="'2029-01-02'")))
        conn.execute(text(round_sql.format(revealed="NULL")))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(round_sql.format(revealed="NULL")))
    engine.dispose()
