"""Two bot instances on one database behave as one (issue 14 §3), on SQLite and PostgreSQL.

Each test runs two real Applications built by ``build_application`` on the same database URL
against the same fake Bot API, as two processes behind one webhook URL would be. Instance
``first`` long-polls (it gets what users send); ``second`` runs without an updater and is
handed updates on its update queue, which is what PTB's webhook server does with a POST, so a
test can deliver an update to the instance of its choosing, or deliver it again.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import Models, build_application, polling
from bot.config import Settings
from bot.fake_api import FakeBotApi
from bot.handlers.favorites import PRUNE_JOB
from bot.handlers.game import SECONDS_KEY, SWEEP_SECONDS_KEY, sweep_due_rounds
from bot.instances import instance_id, run_if_due
from bot.lifecycle import stop_application
from tests.dbutil import execute, rows
from tests.quiet import handled
from tests.test_bot_reviews import NEGATIVE_EN, POSITIVE_EN
from tests.test_favorites import ask_names, exact_button, favorites_of, names_in
from tests.test_game import GROUP, answers_posted, scores, start_round, vote

ANN = 1001


def application(api: FakeBotApi, database_url: str, models: Models, **bot_data: Any) -> Application:
    settings = Settings(token=api.token, api_base_url=api.base_url, database_url=database_url)
    app = build_application(settings, models)
    app.bot_data.update(bot_data)  # before start-up: the sweeper reads its interval there
    return app


@asynccontextmanager
async def without_polling(app: Application) -> AsyncIterator[Application]:
    """Start ``app`` as a webhook instance would be: everything but the updater."""
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    try:
        yield app
    finally:
        await stop_application(app)


@asynccontextmanager
async def two_instances(
    api: FakeBotApi, database_url: str, models: Models, **bot_data: Any
) -> AsyncIterator[tuple[Application, Application]]:
    async with (
        polling(application(api, database_url, models, **bot_data)) as first,
        without_polling(application(api, database_url, models, **bot_data)) as second,
    ):
        yield first, second


async def deliver(app: Application, raw: dict[str, Any]) -> None:
    """Hand ``app`` the update ``raw`` (as its webhook would) and wait until it is handled."""
    await app.update_queue.put(Update.de_json(copy.deepcopy(raw), app.bot))
    await asyncio.wait_for(app.update_queue.join(), 20)


def last_update(api: FakeBotApi) -> dict[str, Any]:
    assert api.last_update is not None
    return copy.deepcopy(api.last_update)


async def test_due_rounds_are_revealed_once_when_two_instances_sweep_at_once(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    ann, bo = api.user(ANN, "Ann"), api.user(1002, "Bo")
    chats = [GROUP - i for i in range(4)]
    async with two_instances(api, database_url, shipped_models, **{SECONDS_KEY: 300}) as (
        first,
        second,
    ):
        for chat_id in chats:
            message = await start_round(api, ann, chat_id=chat_id)
            await vote(api, message, bo, "real")
        execute(database_url, "UPDATE game_rounds SET deadline = created_at")  # time is up
        for _ in range(3):  # the second and third sweeps find nothing left to reveal
            announced = await asyncio.gather(
                sweep_due_rounds(first), sweep_due_rounds(second), sweep_due_rounds(first)
            )
            assert sum(announced) == (len(chats) if _ == 0 else 0), announced
        await handled(api, first)
    for chat_id in chats:
        assert len(answers_posted(api, chat_id)) == 1, chat_id
        assert scores(database_url, chat_id)[bo["id"]][1] == 1  # one round played, once
    assert rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL") == [
        (0,)
    ]


async def test_a_round_left_by_an_instance_that_went_away_is_revealed_by_another(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    ann = api.user(ANN, "Ann")
    survivor = application(api, database_url, shipped_models, **{SWEEP_SECONDS_KEY: 0.2})
    async with without_polling(survivor):  # running before the round exists: no timer for it
        gone = application(api, database_url, shipped_models, **{SECONDS_KEY: 1})
        async with polling(gone):
            await start_round(api, ann)
        since = api.mark()  # the instance that started the round (and armed its timer) is gone
        assert round_open(database_url)
        await api.wait_for_call("sendMessage", lambda p: "/top" in p["text"], since=since)
        await asyncio.sleep(0.5)  # more sweeps: none announces it again
    assert not round_open(database_url)
    assert len(answers_posted(api)) == 1


def round_open(database_url: str) -> bool:
    found = rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL")
    return found == [(1,)]


async def test_a_periodic_job_is_claimed_by_one_instance_per_period(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    runs: list[str] = []

    async def work(app: Application) -> None:
        runs.append(instance_id(app))

    async with two_instances(api, database_url, shipped_models) as (first, second):
        # both started up and asked to prune at once: one row, one holder
        assert rows(database_url, "SELECT count(*) FROM job_runs WHERE name = :n", n=PRUNE_JOB) == [
            (1,)
        ]
        period = timedelta(hours=1)
        claims = [run_if_due(app, "test-job", period, work) for app in (first, second) * 4]
        ran = await asyncio.gather(*claims)
        assert sum(ran) == 1 and len(runs) == 1
        (holder,) = rows(database_url, "SELECT holder FROM job_runs WHERE name = 'test-job'")
        assert holder == (runs[0],)
        # within the period nobody runs it again; once it is over, one instance does
        assert not any(
            await asyncio.gather(
                *(run_if_due(a, "test-job", period, work) for a in (first, second))
            )
        )
        execute(
            database_url,
            "UPDATE job_runs SET last_run_at = :at WHERE name = 'test-job'",
            at=(await first.bot_data["job_runs"].last_run("test-job"))[0] - period,
        )
        claims = [run_if_due(app, "test-job", period, work) for app in (second, first) * 4]
        assert sum(await asyncio.gather(*claims)) == 1 and len(runs) == 2
        # the real pruning jobs too: both instances' JobQueue checks fire, one prunes
        assert first.job_queue is not None and second.job_queue is not None
        (job_a,) = first.job_queue.get_jobs_by_name(PRUNE_JOB)
        (job_b,) = second.job_queue.get_jobs_by_name(PRUNE_JOB)
        before = rows(database_url, "SELECT last_run_at FROM job_runs WHERE name = :n", n=PRUNE_JOB)
        await asyncio.gather(job_a.run(first), job_b.run(second))
        after = rows(database_url, "SELECT last_run_at FROM job_runs WHERE name = :n", n=PRUNE_JOB)
        assert after == before  # pruned at start-up, under PRUNE_EVERY ago: not due


async def test_a_redelivered_update_saves_once_votes_once_and_answers_once(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    ann, bo = api.user(ANN, "Ann"), api.user(1002, "Bo")
    async with two_instances(api, database_url, shipped_models, **{SECONDS_KEY: 300}) as (
        first,
        second,
    ):
        # a /name answered by the first instance, delivered again to both: no second answer
        answer = await ask_names(api)
        asked = last_update(api)
        await handled(api, first)
        since = api.mark()
        await deliver(second, asked)
        await deliver(first, asked)
        assert not [c for c in api.calls[since:] if c["method"] == "sendMessage"]

        # a ⭐ press redelivered: saved once, answered once
        name = names_in(answer["text"])[0]
        query_id = api.press_button(answer, exact_button(api, answer, f"⭐ {name}"))
        pressed = last_update(api)
        await handled(api, first)
        await deliver(second, pressed)
        answers = [
            c
            for c in api.calls
            if c["method"] == "answerCallbackQuery"
            and str(c["params"]["callback_query_id"]) == query_id
        ]
        assert len(answers) == 1 and favorites_of(database_url, ANN) == [name]

        # a vote redelivered after the player changed their mind: the later vote stands
        message = await start_round(api, ann)
        await vote(api, message, bo, "fake")
        first_vote = last_update(api)
        await vote(api, message, bo, "real")
        await handled(api, first)
        await deliver(second, first_vote)
        ((says_real,),) = rows(
            database_url, "SELECT says_real FROM game_votes WHERE user_id = :u", u=bo["id"]
        )
        assert bool(says_real)


async def test_an_edited_review_handled_by_the_other_instance_edits_its_answer(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    async with two_instances(api, database_url, shipped_models) as (first, second):
        since = api.mark()
        review = api.send_message(POSITIVE_EN)
        await api.wait_for_reply(ANN, since=since)
        answer = api.bot_messages(ANN)[-1]
        assert "Positive" in answer["text"]
        await handled(api, first)
        assert first.updater is not None
        await first.updater.stop()  # the edit goes to the other instance only
        since = api.mark()
        api.edit_message(review, NEGATIVE_EN)
        await deliver(second, last_update(api))
        (edit,) = [c for c in api.calls[since:] if c["method"] == "editMessageText"]
        assert int(edit["params"]["message_id"]) == answer["message_id"]
        assert not [c for c in api.calls[since:] if c["method"] == "sendMessage"]
        current = next(m for m in api.bot_messages(ANN) if m["message_id"] == answer["message_id"])
        assert "Negative" in current["text"]
