"""The game's two promises that depend on timing (README): two /game at once in one group
open one round, and a round whose deadline passed while the bot was down is revealed once,
right after start-up."""

from __future__ import annotations

import asyncio
import threading

from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.handlers.game import SECONDS_KEY
from tests.conftest import BotRunner, say
from tests.dbutil import rows
from tests.quiet import handled
from tests.test_game import GROUP, answers_posted, start_round

ROUND = "Real or invented?"
ALREADY = "A round is already running"


async def test_two_game_commands_at_once_open_one_round(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """Both /game pass the "is a round open?" check before either has stored its round: the
    model that invents the name is held until both are waiting for it. The database's one
    open round per chat decides; the other player is told a round is running."""
    game = bot.bot_data["services"].game
    game.rng.random = lambda: 0.0  # both rounds get an invented name: both wait for the model
    executor = bot.bot_data["executor"]
    release = threading.Event()
    before = executor.stats.calls
    blockers = [
        asyncio.ensure_future(executor.run(release.wait, 10)) for _ in range(executor.workers)
    ]
    while executor.stats.calls < before + len(blockers):  # every worker is held
        await asyncio.sleep(0.01)
    calls = executor.stats.calls
    since = api.mark()
    for user in (api.user(1001, "Ann"), api.user(2002, "Bo")):
        api.send_message("/game", user=user, chat_id=GROUP, chat_type="group")
    for _ in range(200):  # until both are waiting for a name
        if executor.stats.calls - calls >= 2:
            break
        await asyncio.sleep(0.02)
    assert executor.stats.calls - calls >= 2, "both /game should be drawing a name"
    release.set()
    await asyncio.gather(*blockers)
    await handled(api, bot)

    sent = [c["params"]["text"] for c in api.calls[since:] if c["method"] == "sendMessage"]
    assert len(sent) == 2, api.dump_calls(since)
    assert sum(ROUND in text for text in sent) == 1 and sum(ALREADY in text for text in sent) == 1
    assert rows(database_url, "SELECT count(*) FROM game_rounds") == [(1,)]
    assert not [c for c in api.calls[since:] if not c["ok"]]  # no failure, no apology


async def test_a_deadline_that_passed_while_the_bot_was_down_reveals_once_at_start_up(
    api: FakeBotApi, bot_runner: BotRunner, database_url: str
) -> None:
    ann = api.user(1001, "Ann")
    loop = asyncio.get_running_loop()
    async with bot_runner() as app:
        app.bot_data[SECONDS_KEY] = 3
        started = loop.time()
        await start_round(api, ann)
    # the bot stopped before the timer fired; it stays down until the deadline has passed
    assert rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL") == [
        (1,)
    ]
    await asyncio.sleep(max(0.0, started + 3.5 - loop.time()))
    since = api.mark()
    async with bot_runner() as app:
        await api.wait_for_call("sendMessage", lambda p: "/top" in p["text"], since=since)
        # a /reveal now finds nothing open: the start-up reveal was the only one
        assert "No round" in await say(api, "/reveal", user=ann, chat_id=GROUP, chat_type="group")
        await handled(api, app)
    assert len(answers_posted(api)) == 1
    assert rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL") == [
        (0,)
    ]
