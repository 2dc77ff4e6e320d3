"""Two webhook instances on one database behave as one bot (issue 14 §5), over real HTTP.

Each test runs two real Applications (``build_application``) in webhook mode, each behind its
own HTTP server (``bot.webhook``), on one database (a SQLite file, or a PostgreSQL database
of its own when TEST_DATABASE_URL is set), against one fake Bot API. Updates are made by the
fake and posted to the instances the way Telegram posts them, one JSON update per request
with the secret header, to the instance a proxy in front of them would pick: here the test
picks, alternating, or both at once. Nothing is shared between the two Applications but the
database, as between two processes: whatever they must agree on (who reveals a round, which
message answered a review, which updates were taken on) has to come from there.

Every wait is for a condition with a deadline (a message sent, a sweep finished), never a
fixed sleep, so a loaded machine makes a test slower, not flaky.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import text
from telegram.ext import Application, ContextTypes, Job

from bot.app import Models, build_application
from bot.db.engine import create_engine
from bot.fake_api import FakeBotApi
from bot.handlers.game import SECONDS_KEY, SWEEP_JOB, SWEEP_SECONDS_KEY, job_name
from bot.webhook import webhook_serving
from tests.dbutil import rows
from tests.test_bot_reviews import NEGATIVE_EN, POSITIVE_EN
from tests.test_favorites import exact_button, favorites_of, names_in
from tests.test_game import ANSWER_SENTENCES, GROUP, round_row, scores
from tests.test_webhook import Instances, database_outage, one_update, webhook_settings

ANN = 1001
BO = 1002
WAIT = 10.0  # the most any condition may take to come true, even on a loaded machine
ROUND_SECONDS = 4.0  # voting time of a round that ends by itself
SWEEP_EVERY = 0.1  # each instance looks for rounds past their deadline this often
LONG_ROUND = 300.0  # a round that only /reveal ends within a test


@asynccontextmanager
async def webhook_instances(
    api: FakeBotApi, database_url: str, models: Models, count: int = 2, **bot_data: Any
) -> AsyncIterator[Instances]:
    """``count`` webhook instances on one database, each started with ``bot_data`` (before
    start-up: the game sweeper reads its period there), listening on free ports."""
    settings = webhook_settings(api, database_url)
    async with AsyncExitStack() as stack:
        servers = []
        for _ in range(count):
            app = build_application(settings, models)
            app.bot_data.update(bot_data)
            servers.append(await stack.enter_async_context(webhook_serving(app, settings, port=0)))
        yield Instances(api, servers)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.02)


@dataclass
class JobRuns:
    """When the runs of one JobQueue job started, and which have finished (wall-clock time,
    to compare with the deadlines the bot stores).

    The job's own callback still does the work: this only notes the times around it, so a
    test can wait until an instance has really swept again rather than guess with a sleep."""

    job: Job
    started: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # the start times of finished runs

    @classmethod
    def of(cls, app: Application, name: str) -> JobRuns:
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name(name)
        runs = cls(job)
        work = job.callback

        async def noted(context: ContextTypes.DEFAULT_TYPE) -> None:
            started = time.time()
            runs.started.append(started)
            try:
                await work(context)
            finally:
                runs.finished.append(started)

        job.callback = noted
        return runs

    def running_since(self, moment: float) -> bool:
        """Whether a run that started after ``moment`` is still going."""
        return any(s > moment and s not in self.finished for s in self.started)

    def finished_since(self, moment: float) -> int:
        """How many runs that started after ``moment`` have finished."""
        return sum(started > moment for started in self.finished)

    def done_or_cancelled(self) -> bool:
        """A one-off job (a round's timer): it ran to the end, or was removed unstarted."""
        return bool(self.finished) or (self.job.removed and not self.started)


@asynccontextmanager
async def round_locked(database_url: str, round_id: int) -> AsyncIterator[None]:
    """Hold the write lock on the round's row (PostgreSQL; the database's, on SQLite) while
    inside: whoever tries to close the round meanwhile waits, and all of them go at once
    when it is let go. That makes "the timer and both sweepers reveal at the same moment"
    happen every time instead of now and then."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(
                text("UPDATE game_rounds SET name = name WHERE id = :id"), {"id": round_id}
            )
            try:
                yield
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


def plain(text: str) -> str:
    """What a user reads of an HTML message text (the tags out, the entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def sent_messages(api: FakeBotApi, since: int, chat_id: int | None = None) -> list[str]:
    """The plain text of every sendMessage since ``since`` (to ``chat_id``): each send, not
    the chat as it reads now, so a message sent twice counts twice."""
    return [
        plain(call["params"]["text"])
        for call in api.calls[since:]
        if call["method"] == "sendMessage"
        and (chat_id is None or str(call["params"].get("chat_id")) == str(chat_id))
    ]


def answers_sent(api: FakeBotApi, since: int, chat_id: int = GROUP) -> list[str]:
    """The messages sent since ``since`` that tell a round's answer."""
    return [
        text
        for text in sent_messages(api, since, chat_id)
        if any(sentence in text for sentence in ANSWER_SENTENCES)
    ]


async def start_round(instances: Instances, index: int, user: dict[str, Any]) -> dict[str, Any]:
    """/game in the group, handled by instance ``index``; the round message (with buttons)."""
    await instances.say(index, "/game", user=user, chat_id=GROUP, chat_type="group")
    message = instances.api.bot_messages(GROUP)[-1]
    assert "Real or invented" in message["text"], message["text"]
    return message


async def vote(
    instances: Instances, index: int, message: dict[str, Any], user: dict[str, Any], real: bool
) -> None:
    """``user`` presses Real or Invented; instance ``index`` handles it; the vote counted."""
    api = instances.api
    data = api.find_button(message, "Real" if real else "Invented")
    query_id = api.press_button(message, data, user=user)
    assert (await instances.post(index, one_update(api))).status == 200
    toast = api.callback_answers[query_id]
    assert not toast.get("show_alert"), toast  # not "this round is over": the vote counted
    assert ("real" if real else "invented") in toast["text"]


def right_and_wrong(is_real: bool, ann: dict, bo: dict) -> tuple[dict, dict]:
    """Ann says real and Bo invented in every round here: who was right."""
    return (ann, bo) if is_real else (bo, ann)


def check_result(text: str, is_real: bool, ann: dict, bo: dict) -> None:
    right, wrong = right_and_wrong(is_real, ann, bo)
    right_line = next(line for line in text.splitlines() if "Right" in line)
    wrong_line = next(line for line in text.splitlines() if "Wrong" in line)
    assert right["first_name"] in right_line and wrong["first_name"] not in right_line, text
    assert wrong["first_name"] in wrong_line and right["first_name"] not in wrong_line, text
    assert ANSWER_SENTENCES[0 if is_real else 1] in text, text


async def check_top_through_both(
    instances: Instances, database_url: str, ann: dict, bo: dict, is_real: bool
) -> None:
    """The scores stored once, and /top through either instance shows the same board."""
    right, wrong = right_and_wrong(is_real, ann, bo)
    assert scores(database_url) == {right["id"]: (1, 1), wrong["id"]: (0, 1)}
    boards = [
        (await instances.say(i, "/top", user=bo, chat_id=GROUP, chat_type="group"))["text"]
        for i in (0, 1)
    ]
    assert boards[0] == boards[1], boards
    assert f"1. {right['first_name']} · points: 1 · rounds: 1" in boards[0], boards[0]
    assert f"2. {wrong['first_name']} · points: 0 · rounds: 1" in boards[0], boards[0]


async def test_a_round_played_across_both_instances_is_revealed_once_when_time_is_up(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """/game through instance 0, the votes alternately through 1 and 0 (each player changes
    their mind through the other instance), then the deadline passes while the round's timer
    (instance 0) and both instances' sweepers (every 0.1 s) all race to reveal it.

    Without the shared state this fails: if the reveal were a read-then-close in each
    process (or the instances did not agree through the database that the round is closed),
    the timer and two sweepers would each announce it: two or three results in the chat and
    the points counted as often; votes kept per process would leave the instance that
    reveals without the other's votes, and the scores wrong.
    """
    ann, bo = api.user(ANN, "Ann"), api.user(BO, "Bo")
    bot_data = {SECONDS_KEY: ROUND_SECONDS, SWEEP_SECONDS_KEY: SWEEP_EVERY}
    async with webhook_instances(api, database_url, shipped_models, **bot_data) as instances:
        apps = [server.app for server in instances.servers]
        sweeps = [JobRuns.of(app, SWEEP_JOB) for app in apps]
        since = api.mark()
        message = await start_round(instances, 0, ann)
        record = await apps[1].bot_data["services"].game.open_round(GROUP)
        assert record is not None and record.message_id == message["message_id"]
        timer = JobRuns.of(apps[0], job_name(record.id))  # only the instance that started it
        await vote(instances, 1, message, ann, real=False)
        await vote(instances, 0, message, bo, real=True)
        await vote(instances, 1, message, bo, real=False)
        await vote(instances, 0, message, ann, real=True)

        due = record.deadline.replace(tzinfo=record.deadline.tzinfo or UTC).timestamp()
        assert time.time() < due, "the votes took longer than the round: a very slow machine"
        contenders = [timer, *sweeps]
        async with round_locked(database_url, record.id):
            await eventually(
                lambda: all(runs.running_since(due) for runs in contenders),
                "the round's timer and both instances' sweepers trying to reveal it",
            )
        await eventually(lambda: bool(answers_sent(api, since=since)), "the round revealed")
        revealed = time.time()
        # whoever revealed it, the others had their go too: the timer ran (or was called
        # off by the sweeper that won), and each instance swept twice more after it
        await eventually(timer.done_or_cancelled, "the round's timer done or called off")
        for index, runs in enumerate(sweeps):
            await eventually(lambda r=runs: r.finished_since(revealed) >= 2, f"sweeps of {index}")

        results = answers_sent(api, since=since)
        assert len(results) == 1, results
        check_result(results[0], record.is_real, ann, bo)
        round_message = next(
            m for m in api.bot_messages(GROUP) if m["message_id"] == message["message_id"]
        )
        assert "reply_markup" not in round_message  # closed: the buttons are gone
        await check_top_through_both(instances, database_url, ann, bo, record.is_real)


async def test_reveal_posted_to_both_instances_at_once_reveals_once(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """The starter's /reveal arrives at both instances at the same moment (two taps, each
    taken by another instance). Each message gets one answer: one of them the result, the
    other "no round is running", because the round can be closed once and the database
    decides by whom (the conditional UPDATE). Without that, both instances would find the
    round open, both announce it, and the points be counted twice."""
    ann, bo = api.user(ANN, "Ann"), api.user(BO, "Bo")
    async with webhook_instances(
        api, database_url, shipped_models, **{SECONDS_KEY: LONG_ROUND}
    ) as instances:
        message = await start_round(instances, 1, ann)
        _, _, is_real, _ = round_row(database_url)
        await vote(instances, 0, message, ann, real=True)
        await vote(instances, 1, message, bo, real=False)

        since = api.mark()
        updates = []
        for _ in (0, 1):
            api.send_message("/reveal", user=ann, chat_id=GROUP, chat_type="group")
            updates.append(one_update(api))
        answers = await asyncio.gather(instances.post(0, updates[0]), instances.post(1, updates[1]))
        assert [answer.status for answer in answers] == [200, 200]

        replies = sent_messages(api, since, GROUP)  # both handled by now (200 = handled)
        assert len(replies) == 2, replies  # one answer per /reveal
        results = answers_sent(api, since=since)
        assert len(results) == 1, replies
        check_result(results[0], bool(is_real), ann, bo)
        assert [text for text in replies if text not in results] == [
            "No round is running. Start one with /game."
        ]
        await check_top_through_both(instances, database_url, ann, bo, bool(is_real))


async def test_an_edited_review_posted_to_the_other_instance_edits_the_first_answer(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """A review answered by instance 0; its edit (edited_message) goes to instance 1, which
    edits that very answer with the new verdict and sends nothing new. Without the
    review→answer ids in the database (review_replies), instance 1 would not know which
    message answered the review and would send a second answer instead."""
    async with webhook_instances(api, database_url, shipped_models) as instances:
        since = api.mark()
        review = api.send_message(POSITIVE_EN)
        assert (await instances.post(0, one_update(api))).status == 200
        (first,) = sent_messages(api, since, ANN)
        answer = api.bot_messages(ANN)[-1]
        assert "Positive" in answer["text"] and answer["text"] == first

        since = api.mark()
        api.edit_message(review, NEGATIVE_EN)
        assert (await instances.post(1, one_update(api))).status == 200
        edits = [c for c in api.calls[since:] if c["method"] == "editMessageText"]
        assert len(edits) == 1 and edits[0]["ok"], api.dump_calls(since)
        assert int(edits[0]["params"]["message_id"]) == answer["message_id"]
        assert sent_messages(api, since) == [], api.dump_calls(since)
        (current,) = [m for m in api.bot_messages(ANN) if m["message_id"] == answer["message_id"]]
        assert "Negative" in current["text"] and "Positive" not in current["text"]
        assert len(api.bot_messages(ANN)) == 1  # still the one answer in the chat


def callback_answers_to(api: FakeBotApi, query_id: str) -> list[dict[str, Any]]:
    return [
        call
        for call in api.calls
        if call["method"] == "answerCallbackQuery"
        and str(call["params"].get("callback_query_id")) == query_id
    ]


def processed(database_url: str, update: dict[str, Any]) -> list[tuple[Any, ...]]:
    return rows(
        database_url,
        "SELECT count(*) FROM processed_updates WHERE update_id = :u",
        u=update["update_id"],
    )


async def test_an_update_redelivered_to_the_other_instance_is_answered_once(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """Telegram sends an update again when its first POST got no answer in time, and the
    proxy may pick the other instance: the same /name posted to instance 0 and then to
    instance 1 gets one answer, and both POSTs a 200 (the second must not make Telegram try
    a third time). Without the processed update ids in the database, instance 1 would not
    know that instance 0 took it on, and would answer again (with other names)."""
    async with webhook_instances(api, database_url, shipped_models) as instances:
        since = api.mark()
        api.send_message("/name Ser")
        asked = one_update(api)
        assert (await instances.post(0, asked)).status == 200
        assert (await instances.post(1, asked)).status == 200
        assert len(sent_messages(api, since, ANN)) == 1, api.dump_calls(since)
        assert processed(database_url, asked) == [(1,)]


async def test_a_star_press_delivered_to_both_instances_at_once_saves_once(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """The same ⭐ press posted to both instances at the same moment: saved once, answered
    once (a second answerCallbackQuery is one Telegram refuses, and the user would see the
    apology). Without the processed update ids (the insert decides who takes it on), both
    instances would handle it: two answers, the second toast "already in your favourites"."""
    async with webhook_instances(api, database_url, shipped_models) as instances:
        await instances.say(0, "/name Ser")
        answer = api.bot_messages(ANN)[-1]
        name = names_in(answer["text"])[0]
        since = api.mark()
        query_id = api.press_button(answer, exact_button(api, answer, f"⭐ {name}"))
        pressed = one_update(api)
        posts = await asyncio.gather(instances.post(0, pressed), instances.post(1, pressed))
        # the copy that lost the race is dropped (200) or, while the winner is still at it,

        # asked to come again (500: the winner could still fail); never both handled

        assert sorted(post.status for post in posts) in ([200, 200], [200, 500])
        answers = [
            call
            for call in api.calls[since:]
            if call["method"] == "answerCallbackQuery"
            and str(call["params"].get("callback_query_id")) == query_id
        ]
        assert len(answers) == 1 and answers[0]["ok"], api.dump_calls(since)
        assert api.callback_answers[query_id]["text"] == f"⭐ Saved {name} to your /favorites."
        assert sent_messages(api, since) == []  # no apology either
        assert favorites_of(database_url, ANN) == [name]


async def test_a_message_delivered_to_both_instances_at_once_is_answered_once(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """The same /help posted to both instances at the same moment (a retry that overtook a
    slow first delivery), three times over: one answer each. Both check the database at
    once, so it is the insert of the update id that decides, not a read before it; without
    it, two answers (a check-then-insert loses this race now and then, hence three tries)."""
    async with webhook_instances(api, database_url, shipped_models) as instances:
        since = api.mark()
        for turn in range(3):
            api.send_message("/help")
            helped = one_update(api)
            posts = await asyncio.gather(
                instances.post(turn % 2, helped), instances.post(1 - turn % 2, helped)
            )
            # the copy that lost the race is dropped (200) or, while the winner is still at it,

            # asked to come again (500: the winner could still fail); never both handled

            assert sorted(post.status for post in posts) in ([200, 200], [200, 500])
            assert processed(database_url, helped) == [(1,)]
        assert len(sent_messages(api, since, ANN)) == 3, api.dump_calls(since)


async def test_an_update_that_failed_on_the_database_midway_is_handled_when_redelivered(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """The webhook answers 500 when the database went away while an update was handled, so
    that Telegram sends it again and the answer comes then (bot/webhook.py). Here the update
    id was recorded (bot/instances.py) before the database went: Bo, a chat admin, sends
    /reveal; while the bot asks Telegram whether he is an admin (getChatMember, slow) the
    database stops answering, so the reveal fails and the POST gets its 500 (and the claim
    cannot be given back yet). Telegram keeps sending the update, to either instance: while
    the claim is open the copies get 500 too, never a 200 that drops them; once instance 0's
    background retry has released the claim (the database is back), a copy reveals the round,
    once. (Before the claim could be released, the first copy got 200 and was dropped.)"""
    ann, bo = api.user(ANN, "Ann"), api.user(BO, "Bo")
    async with webhook_instances(
        api, database_url, shipped_models, **{SECONDS_KEY: LONG_ROUND}
    ) as instances:
        await start_round(instances, 0, ann)
        api.set_member_status(GROUP, BO, "administrator")
        api.send_message("/reveal", user=bo, chat_id=GROUP, chat_type="group")
        reveal = one_update(api)
        api.stall("getChatMember", 1.0)
        since = api.mark()
        posting = asyncio.create_task(instances.post(0, reveal))
        await api.wait_for_call("getChatMember", since=since)
        async with database_outage(instances.servers[0].app, database_url):
            assert (await posting).status == 500
        assert sent_messages(api, since, GROUP) == []  # no apology: the answer comes later

        statuses = []
        deadline = asyncio.get_running_loop().time() + 10
        while not statuses or statuses[-1] != 200:  # Telegram sends it again, and again
            assert asyncio.get_running_loop().time() < deadline, statuses
            statuses.append((await instances.post(len(statuses) % 2, reveal)).status)
            await asyncio.sleep(0.2)
        assert set(statuses[:-1]) <= {500}, statuses
        assert len(answers_sent(api, since)) == 1, api.dump_calls(since)
        assert (await instances.post(1, reveal)).status == 200  # a late copy: dropped
        assert len(answers_sent(api, since)) == 1, api.dump_calls(since)
