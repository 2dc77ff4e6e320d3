"""`python -m bot run` as a real process, configuration, logging hygiene and migrations."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db.engine import downgrade_sync, upgrade_sync, upgrade_to_head
from bot.db.repository import SettingsRepository
from bot.fake_api import FakeBotApi
from bot.logging_setup import RedactTokenFilter
from tests.dbutil import column_names, rows, table_names

ROOT = Path(__file__).resolve().parents[1]
REAL_LOOKING_TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


async def test_run_without_token_explains_and_exits_2(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=clean_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0] and "BotFather" in lines[0]


async def test_real_process_answers_over_http_and_never_logs_token(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeBotApi(token=REAL_LOOKING_TOKEN) as api:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=REAL_LOOKING_TOKEN,
            TELEGRAM_API_BASE_URL=api.base_url,
            DATABASE_URL=database_url,
            LOG_LEVEL="DEBUG",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            since = api.mark()
            api.send_message("/start")
            reply = await api.wait_for_reply(1001, since=since, timeout=90)
            assert "Namecraft" in reply["text"]
            since = api.mark()
            api.send_message("/name Ser")
            reply = await api.wait_for_reply(1001, since=since, timeout=30)
            assert "Ser" in reply["text"]
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
    log = output.decode()
    assert "getUpdates" in log or "Application started" in log, log[-2000:]  # it did log
    assert REAL_LOOKING_TOKEN not in log
    assert REAL_LOOKING_TOKEN.split(":")[1] not in log
    # it upgraded the database it was given and stored the /name answer there
    assert rows(database_url, "SELECT prefix FROM name_generations") == [("Ser",)]


async def test_run_without_network_says_so_in_one_line_and_keeps_retrying(
    tmp_path: Path,
) -> None:
    """No Bot API to reach: one warning line per attempt (no traceback, no token), growing
    pauses between attempts, and the process keeps trying until it is stopped."""
    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = clean_env(
        TELEGRAM_BOT_TOKEN=REAL_LOOKING_TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{closed_port}/bot",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(120):
            while sum("Cannot reach" in line for line in lines) < 3:
                line = (await process.stdout.readline()).decode()
                assert line, "the bot exited instead of retrying:\n" + "".join(lines)
                lines.append(line)
        assert process.returncode is None  # still running, still retrying
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 60)
    log = "".join(lines) + rest.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log and "  File " not in log, log
    assert REAL_LOOKING_TOKEN not in log and REAL_LOOKING_TOKEN.split(":")[1] not in log
    attempts = [line for line in log.splitlines() if "Cannot reach" in line]
    assert len(attempts) >= 3
    assert " ERROR " not in log, log
    for number, (line, delay) in enumerate(zip(attempts, ("1", "2", "4"), strict=False), 1):
        assert f"127.0.0.1:{closed_port}" in line and "Telegram Bot API" in line
        assert f"attempt {number} failed, retrying in {delay} s" in line


def test_redaction_filter_hides_token_in_messages_and_args() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1,
        "HTTP Request: POST %s", (f"https://api.telegram.org/bot{REAL_LOOKING_TOKEN}/getMe",),
        None,
    )  # fmt: skip
    RedactTokenFilter(REAL_LOOKING_TOKEN).filter(record)
    assert REAL_LOOKING_TOKEN not in record.getMessage()
    assert "<token>" in record.getMessage()


def test_migration_upgrade_and_downgrade(database_url: str) -> None:
    upgrade_sync(database_url)
    assert {"user_settings", "alembic_version"} <= table_names(database_url)
    columns = column_names(database_url, "user_settings")
    assert {"user_id", "temperature", "style", "language"} <= columns
    downgrade_sync(database_url, "base")
    assert "user_settings" not in table_names(database_url)
    upgrade_sync(database_url)
    assert "user_settings" in table_names(database_url)


async def test_settings_repository_round_trip(database_url: str) -> None:
    from bot.db.engine import Database

    await upgrade_to_head(database_url)
    db = Database.connect(database_url)
    repo = SettingsRepository(db)
    assert (await repo.get(5)).temperature == 1.0
    await repo.update(5, temperature=0.4, style="ru")
    prefs = await repo.get(5)
    assert (prefs.temperature, prefs.style, prefs.language) == (0.4, "ru", None)
    await repo.update(5, sex="f", era="1920")
    assert (await repo.get(5)).controls == {"sex": "f", "era": "1920"}
    with pytest.raises(ValueError):
        await repo.update(5, token="x")
    if db.dialect == "sqlite":  # on the connections the repositories use

        def pragma(name: str) -> object:
            return db.run(lambda session: session.execute(text(f"PRAGMA {name}")).scalar())

        assert await pragma("journal_mode") == "wal"
        assert await pragma("busy_timeout") >= 1000  # type: ignore[operator]
        assert await pragma("foreign_keys") == 1
    await db.close()


async def test_connections_the_postgresql_server_closed_are_replaced(database_url: str) -> None:
    """A server restart (or an admin) ends the pooled connections; the next request gets a
    fresh one instead of an error (pool_pre_ping)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a SQLite connection is a file handle")
    from bot.db.engine import Database

    await upgrade_to_head(database_url)
    db = Database.connect(database_url)
    repo = SettingsRepository(db)
    try:
        await repo.update(5, temperature=0.4)
        ended = rows(
            database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert ended and all(ok for (ok,) in ended)
        assert (await repo.get(5)).temperature == 0.4
    finally:
        await db.close()
