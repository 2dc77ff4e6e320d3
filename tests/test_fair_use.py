"""Fair use and bounded memory (issue 11 §3), end to end over the fake Bot API.

Per-user rate limits on the actions that run a model, inline queries debounced and cached, and
the per-chat review→answer memory bounded by count and age. Time is moved with an injected
clock (or entries are backdated), so nothing here sleeps for seconds.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from telegram.ext import Application

from bot.db.engine import Database, upgrade_to_head
from bot.db.instances import ReviewRepliesRepository
from bot.db.models import utcnow
from bot.fake_api import FakeBotApi
from bot.handlers.common import FAIR_USE_KEY, SLOW_PARAMETER
from bot.handlers.reviews import EDITABLE, PRUNE_REPLIES_JOB, REMEMBERED_REPLIES
from bot.inference import InferenceExecutor
from bot.throttle import BURST, PER_SECOND, Debouncer, FairUse, RecentAnswers, Throttle
from tests.conftest import ask, say
from tests.dbutil import execute, rows, stored_time
from tests.quiet import handled
from tests.test_bot_reviews import NEGATIVE_EN, POSITIVE_EN, POSITIVE_RU

ANN = 1001


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fair_use(app: Application) -> FairUse:
    return app.bot_data[FAIR_USE_KEY]


def limit(app: Application, burst: int = BURST, per_second: float = PER_SECOND) -> Clock:
    """Give ``app`` a throttle on a hand-moved clock; returns the clock."""
    clock = Clock()
    fair_use(app).throttle = Throttle(burst, per_second, clock=clock)
    return clock


def model_calls(app: Application) -> int:
    executor: InferenceExecutor = app.bot_data["executor"]
    return executor.stats.calls


async def no_reply(api: FakeBotApi, app: Application, chat_id: int, since: int) -> None:
    """Every update so far handled, and none of them got a message in ``chat_id``."""
    await handled(api, app)
    sent = [c for c in api.calls[since:] if c["params"].get("chat_id") == chat_id]
    assert not [c for c in sent if c["method"] in ("sendMessage", "sendDocument")], sent


async def inline(api: FakeBotApi, query: str, **kwargs: Any) -> dict[str, Any]:
    since = api.mark()
    query_id = api.inline_query(query, **kwargs)
    await api.wait_for_call(
        "answerInlineQuery", lambda p: str(p["inline_query_id"]) == query_id, since=since
    )
    return api.inline_answers[query_id]


# ---- 1. per-user rate limits ------------------------------------------------------------------


async def test_a_burst_passes_then_one_reply_says_when_and_no_model_runs(
    api: FakeBotApi, bot: Application
) -> None:
    clock = limit(bot)
    for _ in range(BURST):
        assert (await say(api, "/name Ser")).startswith("Names starting with “Ser”")
    calls = model_calls(bot)
    assert await say(api, "/name Ser") == (
        "That's a lot of requests in a row 🙂 Please try again in 1 second."
    )
    # still over the limit: no second reply (a flood gets no flood back), and no model call
    since = api.mark()
    api.send_message("/fullname Ma")
    api.send_message(POSITIVE_EN)
    await no_reply(api, bot, ANN, since)
    assert model_calls(bot) == calls
    clock.advance(1 / PER_SECOND)
    assert (await say(api, "/name Ser")).startswith("Names starting with “Ser”")
    assert model_calls(bot) == calls + 1


async def test_other_people_and_other_commands_are_not_held_up(
    api: FakeBotApi, bot: Application
) -> None:
    limit(bot, burst=1)
    assert "Ser" in await say(api, "/name Ser")
    assert "try again" in await say(api, "/name Ser")
    # settings, help and lists run no model: they still answer
    assert "0.8" in await say(api, "/temp 0.8")
    assert "/name" in await say(api, "/help")
    assert "favourite" in (await say(api, "/favorites")).lower()
    # someone else has their own bucket, in a private chat and in a group
    bob = api.user(2002, "Bob")
    assert "Ser" in await say(api, "/name Ser", user=bob)
    assert "Real or invented" in await say(
        api, "/game", user=api.user(3003, "Cy"), chat_id=-100, chat_type="group"
    )


async def test_buttons_over_the_limit_get_a_toast_and_no_new_list(
    api: FakeBotApi, bot: Application
) -> None:
    limit(bot, burst=2)
    first = await ask(api, "/name Ma")
    since = api.mark()
    api.press_button(first, api.find_button(first, "🔄"))
    await api.wait_for_reply(ANN, since=since)  # the second token: a fresh list
    answers = len(api.bot_messages(ANN))
    calls = model_calls(bot)
    for label in ("🔄", "♀ female", "▶", "👤 Full names"):
        since = api.mark()
        query_id = api.press_button(first, api.find_button(first, label))
        await api.wait_for_call("answerCallbackQuery", since=since)
        assert api.callback_answers[query_id]["text"] == (
            "That's a lot of requests in a row 🙂 Please try again in 1 second."
        )
        assert not api.callback_answers[query_id].get("show_alert")  # a toast
    assert len(api.bot_messages(ANN)) == answers and model_calls(bot) == calls


async def test_reviews_edits_and_games_are_limited_in_russian(
    api: FakeBotApi, bot: Application
) -> None:
    clock = limit(bot, burst=1, per_second=0.25)
    ivan = api.user(77, "Иван", language_code="ru")
    since = api.mark()
    review = api.send_message(POSITIVE_RU, user=ivan)
    assert "Положительный" in (await api.wait_for_reply(77, since=since))["text"]
    calls = model_calls(bot)
    assert await say(api, "/review Скучно.", user=ivan) == (
        "Слишком много запросов подряд 🙂 Попробуйте ещё раз через 4 секунды."
    )
    # an edited review counts too; told once already, Иван gets no second reply
    since = api.mark()
    api.edit_message(review, "Ужасный фильм, зря потратил вечер.")
    await no_reply(api, bot, 77, since)
    assert not [c for c in api.calls[since:] if c["method"] == "editMessageText"]
    assert model_calls(bot) == calls
    clock.advance(4.0)
    assert "Настоящее или придуманное?" in await say(api, "/game", user=ivan)
    assert (await say(api, "/game", user=ivan)).endswith("через 4 секунды.")
    clock.advance(4.0)
    assert (await say(api, "/name", user=ivan)).startswith("Случайные имена")


async def test_inline_over_the_limit_is_answered_empty_with_a_button_that_explains(
    api: FakeBotApi, bot: Application
) -> None:
    limit(bot, burst=1)
    served = await inline(api, "Ser")
    assert served["results"]
    refused = await inline(api, "Al")
    assert refused["results"] == [] and refused["cache_time"] == 0
    assert refused["is_personal"] is True
    assert refused["button"]["text"] == "Too fast · try again in 1 second"
    assert refused["button"]["start_parameter"] == SLOW_PARAMETER
    explanation = await say(api, f"/start {SLOW_PARAMETER}")
    assert "one a second" in explanation and "@username" in explanation
    # a request answered lately is served again without the model: it costs nothing
    calls = model_calls(bot)
    assert (await inline(api, "Ser"))["results"] == served["results"]
    assert model_calls(bot) == calls
    ivan = api.user(77, "Иван", language_code="ru")
    assert (await inline(api, "Ан", user=ivan))["results"]  # a bucket of his own
    refused_ru = await inline(api, "Ма", user=ivan)
    assert refused_ru["button"]["text"] == "Слишком часто · ещё раз через 1 секунду"


def test_the_bucket_refills_and_says_how_long_to_wait() -> None:
    clock = Clock()
    throttle = Throttle(burst=3, per_second=0.5, clock=clock)
    assert [throttle.check("u").allowed for _ in range(4)] == [True, True, True, False]
    clock.advance(1.0)
    refused = throttle.check("u")
    assert not refused.allowed and refused.retry_after == pytest.approx(1.0)
    assert not refused.first_refusal  # the first refusal was the 4th request
    clock.advance(1.0)
    assert throttle.check("u").allowed
    assert throttle.check("u").first_refusal  # after an allowed one, warned afresh
    clock.advance(100)
    assert [throttle.check("u").allowed for _ in range(4)] == [True, True, True, False]


def test_idle_buckets_are_forgotten_and_their_number_is_capped() -> None:
    clock = Clock()
    throttle = Throttle(burst=10, per_second=1.0, max_tracked=50, clock=clock)
    for user in range(200):
        throttle.check(user)
        clock.advance(0.01)
    assert len(throttle) == 50  # the most idle went first
    assert throttle.check(199).retry_after == 0  # the latest still has theirs
    clock.advance(10.0)  # everyone has refilled: the same as having no bucket
    throttle.check("someone new")
    assert len(throttle) == 1


# ---- 2. inline queries: debounce and a short cache --------------------------------------------


async def test_typing_a_name_runs_the_model_far_fewer_times_than_keystrokes(
    api: FakeBotApi, bot: Application
) -> None:
    keystrokes = ["S", "Se", "Ser", "Sera", "Seraf"]
    calls = model_calls(bot)
    since = api.mark()
    ids = [api.inline_query(text) for text in keystrokes]  # as fast as a client sends them
    bob = api.inline_query("Al", user=api.user(2002, "Bob"))  # someone else typing meanwhile
    for query_id in (ids[-1], bob):
        await api.wait_for_call(
            "answerInlineQuery", lambda p, q=query_id: str(p["inline_query_id"]) == q, since=since
        )
    assert model_calls(bot) - calls < len(keystrokes) / 2, api.dump_calls(since)
    titles = [r["title"] for r in api.inline_answers[ids[-1]]["results"]]
    assert titles and all(t.startswith("Seraf") and t != "Seraf" for t in titles)
    assert all(r["title"].startswith("Al") for r in api.inline_answers[bob]["results"])
    assert len(fair_use(bot).inline_pause) == 0  # nothing kept once the queries are answered


async def test_the_same_request_is_served_from_the_cache_until_it_expires(
    api: FakeBotApi, bot: Application
) -> None:
    clock = Clock()
    fair_use(bot).inline_answers = RecentAnswers(ttl=30.0, clock=clock)
    first = await inline(api, "Ma")
    assert first["cache_time"] == 5 and first["is_personal"] is True
    calls = model_calls(bot)
    assert (await inline(api, "Ma"))["results"] == first["results"]
    # another user with the same settings asks the same: the same names, no model call
    assert (await inline(api, "Ma", user=api.user(2002, "Bob")))["results"] == first["results"]
    assert model_calls(bot) == calls
    # other settings are another request: a changed /temp shows at once
    await say(api, "/temp 1.5")
    await inline(api, "Ma")
    assert model_calls(bot) == calls + 1
    clock.advance(31.0)
    await say(api, "/temp 1.0")
    await inline(api, "Ma")
    assert model_calls(bot) == calls + 2


async def test_debouncer_lets_the_last_through_and_keeps_nothing() -> None:
    debouncer = Debouncer(pause=0.05)
    results = await asyncio.gather(
        debouncer.settled("ann"), debouncer.settled("ann"), debouncer.settled("bob")
    )
    assert results == [False, True, True]
    assert len(debouncer) == 0


def test_recent_answers_expire_and_are_capped() -> None:
    clock = Clock()
    cache: RecentAnswers[int] = RecentAnswers(ttl=10.0, max_entries=3, clock=clock)
    for key in range(5):
        cache.put(key, key)
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) == 4
    clock.advance(10.0)
    assert cache.get(4) is None and len(cache) == 0


# ---- 3. review answers per chat: bounded by count and by age ----------------------------------


def replies(database_url: str, chat_id: int = ANN) -> dict[int, tuple[int, datetime]]:
    """The chat's remembered answers (in the database, shared by every instance)."""
    found = rows(
        database_url,
        "SELECT review_message_id, answer_message_id, created_at FROM review_replies"
        " WHERE chat_id = :c",
        c=chat_id,
    )
    return {review: (answer, stored_time(at)) for review, answer, at in found}


def backdate_replies(database_url: str, chat_id: int, by: timedelta) -> None:
    """Make the chat's remembered answers ``by`` older."""
    for review, (_, at) in replies(database_url, chat_id).items():
        execute(
            database_url,
            "UPDATE review_replies SET created_at = :at"
            " WHERE chat_id = :c AND review_message_id = :r",
            at=at - by,
            c=chat_id,
            r=review,
        )


async def remembered_soon(database_url: str, chat_id: int, count: int) -> None:
    """The bot notes an answer once Telegram has confirmed it: just after the reply is seen."""
    for _ in range(100):
        if len(replies(database_url, chat_id)) == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"chat {chat_id} does not remember {count} answers")


async def test_an_edit_after_48_hours_gets_a_fresh_answer_instead_of_a_doomed_edit(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    since = api.mark()
    review = api.send_message(POSITIVE_EN)
    answer = await api.wait_for_reply(ANN, since=since)
    assert "Positive" in answer["text"]
    await remembered_soon(database_url, ANN, 1)
    ((reply_id, stored_at),) = replies(database_url).values()
    assert abs((stored_at - utcnow()).total_seconds()) < 60
    backdate_replies(database_url, ANN, EDITABLE + timedelta(hours=1))
    since = api.mark()
    api.edit_message(review, NEGATIVE_EN)
    assert "Negative" in (await api.wait_for_reply(ANN, since=since))["text"]
    assert not [c for c in api.calls[since:] if c["method"] == "editMessageText"]
    await handled(api, bot)
    ((new_reply_id, _),) = replies(database_url).values()  # the fresh answer replaced it
    assert new_reply_id != reply_id
    # a recent answer is still edited in place
    since = api.mark()
    api.edit_message(review, POSITIVE_EN)
    call = await api.wait_for_call("editMessageText", since=since)
    assert int(call["params"]["message_id"]) == new_reply_id


async def test_the_sweep_forgets_quiet_chats(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bob = api.user(2002, "Bob")
    await say(api, POSITIVE_EN)
    await say(api, NEGATIVE_EN, user=bob)
    await remembered_soon(database_url, ANN, 1)
    await remembered_soon(database_url, 2002, 1)
    backdate_replies(database_url, ANN, EDITABLE)
    assert bot.job_queue is not None
    (job,) = bot.job_queue.get_jobs_by_name(PRUNE_REPLIES_JOB)
    await job.run(bot)
    assert replies(database_url, ANN) == {}  # nothing is kept for the quiet chat
    assert len(replies(database_url, 2002)) == 1


async def test_at_most_the_newest_answers_are_kept_and_none_too_old_to_edit(
    database_url: str,
) -> None:
    await upgrade_to_head(database_url)
    db = Database.connect(database_url)
    try:
        repo = ReviewRepliesRepository(db, per_chat=REMEMBERED_REPLIES)
        for review in range(REMEMBERED_REPLIES + 50):
            await repo.remember(ANN, review, review + 10_000)
        await repo.remember(2002, 1, 2)  # another chat's answers are not counted in
        kept = replies(database_url)
        assert len(kept) == REMEMBERED_REPLIES and min(kept) == 50
        assert await repo.answer_to(ANN, 60, utcnow() - EDITABLE) == 10_060
        assert await repo.answer_to(ANN, 10, utcnow() - EDITABLE) is None  # dropped
        await repo.remember(ANN, 60, 20_060)  # a fresh answer to the same review replaces it
        assert await repo.answer_to(ANN, 60, utcnow() - EDITABLE) == 20_060
        backdate_replies(database_url, ANN, EDITABLE + timedelta(seconds=1))
        assert await repo.answer_to(ANN, 60, utcnow() - EDITABLE) is None  # too old to edit
        assert await repo.prune(utcnow() - EDITABLE) == REMEMBERED_REPLIES
        assert replies(database_url) == {} and len(replies(database_url, 2002)) == 1
    finally:
        await db.close()
