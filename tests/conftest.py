"""Shared fixtures: the fake Bot API server and a real Application running against it.

End-to-end tests use the shipped checkpoints (loaded once per session), a real SQLite file
in a temp folder, and real HTTP long polling between PTB and ``bot.fake_api.FakeBotApi``.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.app import Models, build_application, load_models, polling
from bot.config import Settings
from bot.fake_api import FakeBotApi
from ml.names.registry import DEFAULT_CHECKPOINT_DIR


@pytest.fixture(scope="session")
def shipped_models() -> Models:
    return load_models(DEFAULT_CHECKPOINT_DIR)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


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


def write_labelled_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    """A gzip'd ``text,label`` CSV like the shared sentiment files (for tiny-data tests)."""
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
