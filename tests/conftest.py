"""Shared fixtures: the fake Bot API server and a real Application running against it.

End-to-end tests use the shipped checkpoints (loaded once per session), a real database and
real HTTP long polling between PTB and ``bot.fake_api.FakeBotApi``. Every test that uses the
database (``database_url``, directly or through ``bot``/``bot_runner``) runs twice: on a
SQLite file in a temp folder, and on a fresh database of the PostgreSQL server named by
TEST_DATABASE_URL; without it that variant is skipped (tests/dbutil.py).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import Models, build_application, load_models, polling
from bot.config import Settings
from bot.fake_api import FakeBotApi
from ml.names.registry import DEFAULT_CHECKPOINT_DIR
from tests.dbutil import TEST_DATABASE_URL, fresh_postgres_database, postgres_admin_url

DATABASES = ("sqlite", "postgresql")
NO_POSTGRESQL = f"PostgreSQL variant: {TEST_DATABASE_URL} is not set"


@pytest.fixture(scope="session")
def shipped_models() -> Models:
    return load_models(DEFAULT_CHECKPOINT_DIR)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (no tables yet): a SQLite file that does not exist yet, or a
    database of its own on the TEST_DATABASE_URL server, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip(NO_POSTGRESQL)
    with fresh_postgres_database(admin_url) as url:
        yield url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Report every skipped PostgreSQL variant at this file's location, so the summary folds
    them into one line instead of one per test."""
    report = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and longrepr[2].endswith(NO_POSTGRESQL):
        report.longrepr = (__file__, None, longrepr[2])
    return report


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


BotRunner = Callable[[], AbstractAsyncContextManager[Application]]


@pytest.fixture
def bot_runner(api: FakeBotApi, database_url: str, shipped_models: Models) -> BotRunner:
    """``async with bot_runner() as app:`` runs a fresh Application on the same database."""

    @asynccontextmanager
    async def run() -> AsyncIterator[Application]:
        settings = Settings(token=api.token, api_base_url=api.base_url, database_url=database_url)
        async with polling(build_application(settings, shipped_models)) as app:
            yield app

    return run


@pytest.fixture
async def bot(bot_runner: BotRunner) -> AsyncIterator[Application]:
    async with bot_runner() as app:
        yield app


async def say(api: FakeBotApi, text: str, **kwargs: object) -> str:
    """Send ``text`` as a user and return the text of the bot's next message in that chat."""
    since = api.mark()
    message = api.send_message(text, **kwargs)  # type: ignore[arg-type]
    reply = await api.wait_for_reply(message["chat"]["id"], since=since)
    return reply["text"]


async def ask(api: FakeBotApi, text: str, **kwargs: Any) -> dict[str, Any]:
    """Send ``text``; the bot's answer as it is stored (text and buttons)."""
    since = api.mark()
    message = api.send_message(text, **kwargs)
    chat_id = message["chat"]["id"]
    await api.wait_for_reply(chat_id, since=since)
    return api.bot_messages(chat_id)[-1]


async def inline(api: FakeBotApi, query: str, **kwargs: Any) -> dict[str, Any]:
    """The bot's answerInlineQuery parameters for ``query``."""
    since = api.mark()
    query_id = api.inline_query(query, **kwargs)
    call = await api.wait_for_call("answerInlineQuery", since=since)
    assert call["ok"], call
    return api.inline_answers[query_id]


def write_labelled_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    """A gzip'd ``text,label`` CSV like the shared sentiment files (for tiny-data tests)."""
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
