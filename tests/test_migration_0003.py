"""Migration 0003 (forum topic of a game round) on top of a database at 0002."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from bot.db.engine import downgrade_sync, upgrade_sync


def columns(engine: object) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("game_rounds")}  # type: ignore[arg-type]


def index_names(engine: object) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes("game_rounds")}  # type: ignore[arg-type]


def test_open_round_survives_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade_sync(url, "0002")
    engine = create_engine(url.replace("+aiosqlite", ""))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO game_rounds (chat_id, started_by, style, language, name, is_real,"
                " message_id, deadline) VALUES (-5, 1, 'en', 'en', 'Ann', 1, 7, '2026-11-23')"
            )
        )
    assert "message_thread_id" not in columns(engine)

    upgrade_sync(url, "0003")
    assert "message_thread_id" in columns(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, message_id, message_thread_id FROM game_rounds"))
        assert row.all() == [("Ann", 7, None)]
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"

    downgrade_sync(url, "0002")
    assert "message_thread_id" not in columns(engine)
    assert "uq_game_rounds_open_chat" in index_names(engine)  # one open round per chat, still
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM game_rounds")).scalars().all() == ["Ann"]
    upgrade_sync(url)
    assert "message_thread_id" in columns(engine)
    engine.dispose()
