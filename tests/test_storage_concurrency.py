"""What must hold when requests race, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

The database decides, not the event loop: one open game round per chat (a partial unique
index), the reveal exactly once (the UPDATE that closes the round), a vote either counted by
the reveal or refused as "over", one saved copy of a favourite (a unique constraint), one
settings row per user. The repository tests run the racing calls on separate connections of
the bot's own engine at the same time; the end-to-end tests send the racing updates without
waiting, as two people in a group would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.db.engine import Database, upgrade_to_head
from bot.db.favorites import FavoritesRepository
from bot.db.game import GameRepository
from bot.db.models import utcnow
from bot.db.repository import SettingsRepository
from bot.fake_api import FakeBotApi
from tests.dbutil import rows
from tests.test_game import GROUP, start_round, vote

RACERS = 6


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade_to_head(database_url)
    database = Database.connect(database_url)
    try:
        yield database
    finally:
        await database.close()


async def open_round(game: GameRepository, chat_id: int = GROUP) -> int:
    started = await game.create_round(
        chat_id, 1, "en", "en", "Ann", True, utcnow() + timedelta(seconds=30)
    )
    assert started is not None
    return started.id


async def test_racing_round_starts_open_one_round(db: Database, database_url: str) -> None:
    game = GameRepository(db)
    deadline = utcnow() + timedelta(seconds=30)
    started = await asyncio.gather(
        *(
            game.create_round(GROUP, user, "en", "en", f"Name{user}", True, deadline)
            for user in range(RACERS)
        )
    )
    winners = [r for r in started if r is not None]
    assert len(winners) == 1
    open_now = await game.open_round(GROUP)
    assert open_now is not None and open_now.id == winners[0].id
    assert rows(database_url, "SELECT count(*) FROM game_rounds") == [(1,)]
    # once it is revealed, the next round may start
    assert await game.reveal(winners[0].id, GROUP) is not None
    assert await open_round(game) != winners[0].id


async def test_racing_reveals_close_the_round_and_score_exactly_once(
    db: Database, database_url: str
) -> None:
    game = GameRepository(db)
    round_id = await open_round(game)
    for user in (101, 102, 103):
        assert await game.vote(round_id, GROUP, user, f"P{user}", user != 103) == "ok"
    results = await asyncio.gather(*(game.reveal(round_id, GROUP) for _ in range(RACERS)))
    done = [r for r in results if r is not None]
    assert len(done) == 1
    record, votes = done[0]
    assert record.revealed and {v.user_id for v in votes} == {101, 102, 103}
    board = {s.user_id: (s.points, s.rounds) for s in await game.leaderboard(GROUP)}
    assert board == {101: (1, 1), 102: (1, 1), 103: (0, 1)}
    assert rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL") == [
        (0,)
    ]


async def test_votes_racing_the_reveal_are_counted_or_refused(
    db: Database,
) -> None:
    game = GameRepository(db)
    round_id = await open_round(game)
    voters = range(201, 201 + RACERS)
    calls = [game.vote(round_id, GROUP, user, f"P{user}", True) for user in voters]
    calls.insert(RACERS // 2, game.reveal(round_id, GROUP))
    outcome = await asyncio.gather(*calls)
    revealed = outcome.pop(RACERS // 2)
    assert revealed is not None
    answers = dict(zip(voters, outcome, strict=True))
    assert set(answers.values()) <= {"ok", "over"}
    counted = {v.user_id for v in revealed[1]}
    assert counted == {user for user, answer in answers.items() if answer == "ok"}
    board = {s.user_id: s.rounds for s in await game.leaderboard(GROUP)}
    assert board == dict.fromkeys(counted, 1)


async def test_the_same_favourite_saved_at_once_is_saved_once(
    db: Database, database_url: str
) -> None:
    favorites = FavoritesRepository(db)
    saved = await asyncio.gather(
        *(favorites.add_favorite(7, "Seraphina", "en", "Ser", None) for _ in range(RACERS))
    )
    assert sorted(saved) == [False] * (RACERS - 1) + [True]
    assert rows(database_url, "SELECT name FROM favorites WHERE user_id = 7") == [("Seraphina",)]
    # the same name in another style, or for another user, is another favourite
    assert await favorites.add_favorite(7, "Seraphina", "fantasy", "Ser", None)
    assert await favorites.add_favorite(8, "Seraphina", "en", "Ser", None)


async def test_a_new_users_first_settings_written_at_once_make_one_row(
    db: Database, database_url: str
) -> None:
    settings = SettingsRepository(db)
    await asyncio.gather(
        settings.update(9, temperature=0.5),
        settings.update(9, style="ru"),
        settings.update(9, language="ru"),
        settings.update(9, sex="f"),
    )
    prefs = await settings.get(9)
    assert (prefs.temperature, prefs.style, prefs.language, prefs.sex) == (0.5, "ru", "ru", "f")
    assert rows(database_url, "SELECT count(*) FROM user_settings") == [(1,)]


async def test_two_games_started_at_once_in_a_group_make_one_round(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    since = api.mark()
    for user in (ann, bo):
        api.send_message("/game", user=user, chat_id=GROUP, chat_type="group")
    await api.wait_for_reply(GROUP, since=since)
    await api.wait_for_call("sendMessage", lambda p: "already" in p["text"], since=since)
    sent = [c for c in api.calls[since:] if c["method"] == "sendMessage"]
    rounds = [c for c in sent if "reply_markup" in c["params"]]
    assert len(sent) == 2 and len(rounds) == 1, api.dump_calls()
    assert rows(database_url, "SELECT count(*) FROM game_rounds") == [(1,)]


async def test_two_reveals_at_once_post_one_result_and_score_once(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    message = await start_round(api, ann)
    await vote(api, message, ann, "real")
    await vote(api, message, bo, "fake")
    since = api.mark()
    for _ in range(2):
        api.send_message("/reveal", user=ann, chat_id=GROUP, chat_type="group")
    await api.wait_for_call("sendMessage", lambda p: "/top" in p["text"], since=since)
    await api.wait_for_call("sendMessage", lambda p: "No round" in p["text"], since=since)
    results = [
        c
        for c in api.calls[since:]
        if c["method"] == "sendMessage" and "/top" in c["params"]["text"]
    ]
    assert len(results) == 1
    found = rows(database_url, "SELECT user_id, rounds FROM game_scores ORDER BY user_id")
    assert found == [(1001, 1), (2002, 1)]
