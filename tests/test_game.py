"""The real-or-invented game end to end: rounds, votes, /reveal, the timer, restarts, /top."""

from __future__ import annotations

import re
from typing import Any

from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.handlers.game import SECONDS_KEY
from ml.names.vocab import normalize_name
from tests.conftest import BotRunner, say
from tests.dbutil import rows

GROUP = -300


async def start_round(api: FakeBotApi, user: dict[str, Any], chat_id: int = GROUP) -> dict:
    """Send /game (in a group for a negative id, else privately) and return the round message."""
    since = api.mark()
    if chat_id < 0:
        api.send_message("/game", user=user, chat_id=chat_id, chat_type="group")
    else:
        api.send_message("/game", user=user)
    await api.wait_for_reply(chat_id, since=since)
    return api.bot_messages(chat_id)[-1]


async def vote(
    api: FakeBotApi, message: dict, user: dict[str, Any], choice: str, *, forged: bool = False
) -> dict[str, Any]:
    since = api.mark()
    if ":" in choice:  # raw callback data
        data = choice
    else:
        data = api.find_button(message, "Real" if choice == "real" else "Invented")
    query_id = api.press_button(message, data, user=user, forged=forged)
    await api.wait_for_call("answerCallbackQuery", since=since)
    return api.callback_answers[query_id]


def round_row(database_url: str, chat_id: int = GROUP) -> tuple[Any, ...]:
    return rows(
        database_url,
        "SELECT id, name, is_real, revealed_at FROM game_rounds WHERE chat_id = :c "
        "ORDER BY id DESC LIMIT 1",
        c=chat_id,
    )[0]


def scores(database_url: str, chat_id: int = GROUP) -> dict[int, tuple[int, int]]:
    found = rows(
        database_url,
        "SELECT user_id, points, rounds FROM game_scores WHERE chat_id = :c",
        c=chat_id,
    )
    return {user_id: (points, played) for user_id, points, played in found}


async def play_round_with_reveal(
    api: FakeBotApi, database_url: str, ann: dict, bo: dict
) -> tuple[bool, str]:
    """Ann changes her mind (invented → real), Bo says invented, then Ann, who started the
    round, ends it with /reveal.

    Returns whether the name was real, and the result message.
    """
    message = await start_round(api, ann)
    assert api.find_button(message, "Real").endswith(":real")
    assert "Real or invented" in message["text"]
    assert "invented" in (await vote(api, message, ann, "fake"))["text"]
    answer = await vote(api, message, ann, "real")
    assert not answer.get("show_alert") and "real" in answer["text"]
    await vote(api, message, bo, "fake")
    _, name, is_real, revealed_at = round_row(database_url)
    assert revealed_at is None and name in message["text"]
    since = api.mark()
    api.send_message("/reveal", user=ann, chat_id=GROUP, chat_type="group")
    result = (await api.wait_for_reply(GROUP, since=since))["text"]
    return bool(is_real), result


ANSWER_SENTENCES = ("is a real name from my training data", "was invented by my network")


def answers_posted(api: FakeBotApi, chat_id: int = GROUP) -> list[str]:
    """The bot's messages in the chat (as they read now) that tell a round's answer."""
    return [
        m["text"]
        for m in api.bot_messages(chat_id)
        if any(sentence in m["text"] for sentence in ANSWER_SENTENCES)
    ]


def winner_and_loser(is_real: bool, ann: dict, bo: dict) -> tuple[dict, dict]:
    return (ann, bo) if is_real else (bo, ann)


async def test_full_round_with_reveal_scores_and_top(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    is_real, result = await play_round_with_reveal(api, database_url, ann, bo)
    right, wrong = winner_and_loser(is_real, ann, bo)
    right_line = next(line for line in result.splitlines() if "Right" in line)
    wrong_line = next(line for line in result.splitlines() if "Wrong" in line)
    assert right["first_name"] in right_line and wrong["first_name"] not in right_line
    assert wrong["first_name"] in wrong_line
    assert ("real" if is_real else "invented") in result
    assert scores(database_url) == {right["id"]: (1, 1), wrong["id"]: (0, 1)}

    # the round message lost its buttons and no longer asks
    round_id, name, _, _ = round_row(database_url)
    ((message_id,),) = rows(database_url, "SELECT message_id FROM game_rounds")
    round_message = next(m for m in api.bot_messages(GROUP) if m["message_id"] == message_id)
    assert "reply_markup" not in round_message and name in round_message["text"]
    assert "Real or invented" not in round_message["text"]
    # ... and the answer is said once: in the result, a reply to the round message
    assert answers_posted(api) == [api.bot_messages(GROUP)[-1]["text"]]
    assert api.bot_messages(GROUP)[-1]["reply_to_message"]["message_id"] == message_id
    # votes after the reveal are refused and change nothing
    late_data = f"game:{round_id}:{'real' if is_real else 'fake'}"
    late = await vote(api, round_message, wrong, late_data, forged=True)
    assert late.get("show_alert") and "over" in late["text"]
    assert scores(database_url)[wrong["id"]] == (0, 1)
    # nothing is open any more
    assert "No round" in await say(api, "/reveal", user=ann, chat_id=GROUP, chat_type="group")

    top = await say(api, "/top", user=ann, chat_id=GROUP, chat_type="group")
    lines = top.splitlines()
    assert right["first_name"] in lines[2] and "points: 1" in lines[2]
    assert wrong["first_name"] in lines[3] and "points: 0" in lines[3]


async def test_only_the_starter_or_an_admin_may_end_a_round_early(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """A player who could vote and /reveal at once would see the answer before the others."""
    ann, bo, cy = api.user(1001, "Ann"), api.user(2002, "Bo"), api.user(3003, "Cy")
    message = await start_round(api, ann)
    # everyone sees when the round ends, and who may end it sooner
    assert "ends in 30 s" in message["text"]
    assert "started the round or a chat admin" in message["text"]
    await vote(api, message, bo, "real")

    since = api.mark()
    api.send_message("/reveal", user=bo, chat_id=GROUP, chat_type="group")
    refusal = await api.wait_for_reply(GROUP, since=since)
    assert "Only the player who started this round or a chat admin" in refusal["text"]
    assert re.search(r"ends by itself in \d+ s", refusal["text"])
    assert api.bot_messages(GROUP)[-1]["reply_to_message"]["message_id"] == message["message_id"]
    assert round_row(database_url)[3] is None  # still open, Bo's vote still counts
    assert answers_posted(api) == []
    still_open = api.bot_messages(GROUP)[0]
    assert api.find_button(still_open, "Real")

    # a chat admin may (getChatMember says so), and the result is posted once
    await say(api, "/top", user=cy, chat_id=GROUP, chat_type="group")  # Cy joins the chat
    api.set_member_status(GROUP, cy["id"], "administrator")
    since = api.mark()
    api.send_message("/reveal", user=cy, chat_id=GROUP, chat_type="group")
    result = (await api.wait_for_reply(GROUP, since=since))["text"]
    assert "Bo" in result and round_row(database_url)[3] is not None
    assert answers_posted(api) == [api.bot_messages(GROUP)[-1]["text"]]
    checks = [c for c in api.calls[since:] if c["method"] == "getChatMember"]
    assert [int(c["params"]["user_id"]) for c in checks] == [cy["id"]]

    # so may the chat's creator, in Russian too
    ivan = api.user(4004, "Иван", language_code="ru")
    message = await start_round(api, ivan)
    assert "может только тот, кто его начал, или админ чата" in message["text"]
    assert "закончится через 30 с" in message["text"]
    refusal = await say(
        api,
        "/reveal",
        user=api.user(5005, "Оля", language_code="ru"),
        chat_id=GROUP,
        chat_type="group",
    )
    assert "Завершить раунд досрочно может только тот, кто его начал" in refusal
    api.set_member_status(GROUP, 5005, "creator")
    result = await say(
        api,
        "/reveal",
        user=api.user(5005, "Оля", language_code="ru"),
        chat_id=GROUP,
        chat_type="group",
    )
    assert "/top" in result and round_row(database_url)[3] is not None


async def test_a_round_whose_message_could_not_be_sent_is_rolled_back(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """Without its message a round has no buttons and no timer: it must not stay open."""
    ann = api.user(1001, "Ann")
    api.fail(
        "sendMessage",
        "Bad Request: not enough rights to send text messages to the chat",
        when=lambda params: "Real or invented" in params["text"],
    )
    since = api.mark()
    api.send_message("/game", user=ann, chat_id=GROUP, chat_type="group")
    apology = await api.wait_for_reply(GROUP, since=since)  # the error handler's
    failed = [c for c in api.calls[since:] if c["method"] == "sendMessage" and not c["ok"]]
    assert len(failed) == 1 and "went wrong" in apology["text"]
    assert rows(database_url, "SELECT count(*) FROM game_rounds") == [(0,)]
    assert bot.job_queue is not None
    assert not [job for job in bot.job_queue.jobs() if job.name.startswith("game-reveal")]

    message = await start_round(api, ann)  # the next /game starts a round as usual
    assert "Real or invented" in message["text"] and api.find_button(message, "Real")
    assert rows(database_url, "SELECT count(*) FROM game_rounds WHERE revealed_at IS NULL") == [
        (1,)
    ]


async def test_one_open_round_per_chat_and_many_chats(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    first = await start_round(api, ann)
    since = api.mark()
    api.send_message("/game", user=bo, chat_id=GROUP, chat_type="group")
    params = await api.wait_for_reply(GROUP, since=since)
    assert "already" in params["text"]
    assert api.bot_messages(GROUP)[-1]["reply_to_message"]["message_id"] == first["message_id"]
    other = await start_round(api, bo, chat_id=-400)  # another group plays at the same time
    assert other["text"] != params["text"]
    open_rounds = rows(database_url, "SELECT chat_id FROM game_rounds WHERE revealed_at IS NULL")
    assert sorted(open_rounds) == [(-400,), (GROUP,)]
    # a button of the other chat's round pressed here is refused
    other_id = api.find_button(other, "Real").split(":")[1]
    answer = await vote(api, first, ann, f"game:{other_id}:real", forged=True)
    assert answer.get("show_alert")
    garbage_data = ("game:abc:real", "game:1:maybe", "game:999999:fake", "game:")
    for garbage in (*garbage_data, "game:999999999999999999:real"):  # 18 digits: past 32 bits
        assert (await vote(api, first, ann, garbage, forged=True)).get("show_alert"), garbage
    assert rows(database_url, "SELECT count(*) FROM game_votes") == [(0,)]


async def test_timer_reveals_and_counts_the_last_vote(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bot.bot_data[SECONDS_KEY] = 3
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    since = api.mark()
    message = await start_round(api, ann)
    await vote(api, message, bo, "real")
    await vote(api, message, bo, "fake")
    await vote(api, message, bo, "real")
    result = await api.wait_for_call(
        "sendMessage", lambda p: "/top" in p["text"], since=since, timeout=20
    )
    _, _, is_real, revealed_at = round_row(database_url)
    assert revealed_at is not None
    text = result["params"]["text"]
    assert ("Right" if is_real else "Wrong") in text and "Bo" in text
    assert scores(database_url) == {2002: (int(bool(is_real)), 1)}


async def test_round_and_scores_survive_a_restart(
    api: FakeBotApi, bot_runner: BotRunner, database_url: str
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    async with bot_runner():
        is_real, _ = await play_round_with_reveal(api, database_url, ann, bo)
        open_message = await start_round(api, ann)  # left open over the restart (30 s timer)
        await vote(api, open_message, bo, "real")
    right, _ = winner_and_loser(is_real, ann, bo)
    async with bot_runner():
        top = await say(api, "/top", user=bo, chat_id=GROUP, chat_type="group")
        assert right["first_name"] in top.splitlines()[2] and "points: 1" in top
        since = api.mark()
        api.send_message("/reveal", user=ann, chat_id=GROUP, chat_type="group")
        result = (await api.wait_for_reply(GROUP, since=since))["text"]
        assert "Bo" in result
        closed = next(
            m for m in api.bot_messages(GROUP) if m["message_id"] == open_message["message_id"]
        )
        assert "reply_markup" not in closed and "🎲" in closed["text"]
    _, _, second_real, _ = round_row(database_url)
    bo_points = int(not is_real) + int(bool(second_real))
    assert scores(database_url)[bo["id"]] == (bo_points, 2)


async def test_timer_is_rearmed_after_a_restart(
    api: FakeBotApi, bot_runner: BotRunner, database_url: str
) -> None:
    ann = api.user(1001, "Ann")
    async with bot_runner() as app:
        app.bot_data[SECONDS_KEY] = 5
        message = await start_round(api, ann)
        await vote(api, message, ann, "fake")
    assert round_row(database_url)[3] is None  # the bot stopped before the timer fired
    since = api.mark()
    async with bot_runner():
        await api.wait_for_call(
            "sendMessage", lambda p: "/top" in p["text"], since=since, timeout=15
        )
    assert round_row(database_url)[3] is not None
    assert scores(database_url)[1001][1] == 1


async def test_solo_practice_in_a_private_chat(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    ann = api.user(1001, "Ann")
    message = await start_round(api, ann, chat_id=1001)
    await vote(api, message, ann, "real")
    result = await say(api, "/reveal")
    _, name, is_real, _ = round_row(database_url, 1001)
    assert name in result and ("Right" if is_real else "Wrong") in result
    assert "Ann" in await say(api, "/top")


async def test_invented_names_are_never_training_names(bot: Application) -> None:
    game = bot.bot_data["services"].game
    for style in game.names.styles:
        known = game.names.models[style].known_names
        invented = [await game.invent(style) for _ in range(5)]
        assert any(invented)  # a checkpoint that only recites its training data would fail here
        assert all(normalize_name(name) not in known for name in invented if name)
        for _ in range(20):
            name, is_real = await game.pick(style)
            assert (normalize_name(name) in known) == is_real
            assert name[0].isupper()


async def test_russian_round_texts(api: FakeBotApi, bot: Application) -> None:
    ivan = api.user(2005, "Иван", language_code="ru")
    message = await start_round(api, ivan, chat_id=-500)
    assert "Настоящее или придуманное" in message["text"]
    assert api.find_button(message, "Настоящее")
    assert "нет очков" in await say(api, "/top", user=ivan, chat_id=-500, chat_type="group")
    answer = await vote(api, message, ivan, api.find_button(message, "Придуманное"))
    assert "придуманное" in answer["text"]


async def test_a_round_in_a_forum_topic_is_answered_in_that_topic(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """The timer's result comes from a job, with no message to reply in: the round stores its
    topic so the result is posted there, not in the forum's General topic."""
    bot.bot_data[SECONDS_KEY] = 3
    forum, topic = -1001000000077, 42
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    since = api.mark()
    api.send_message(
        "/game", user=ann, chat_id=forum, chat_type="supergroup", message_thread_id=topic
    )
    await api.wait_for_reply(forum, since=since)
    message = api.bot_messages(forum)[-1]
    assert message.get("message_thread_id") == topic
    await vote(api, message, bo, "real")
    result = await api.wait_for_call(
        "sendMessage", lambda p: "/top" in p["text"], since=since, timeout=20
    )
    sql = "SELECT message_thread_id FROM game_rounds WHERE chat_id = :c"
    assert rows(database_url, sql, c=forum) == [(topic,)]
    assert int(result["params"]["message_thread_id"]) == topic
    assert api.bot_messages(forum)[-1].get("message_thread_id") == topic

    # Outside forums nothing changes: no topic is stored or sent.
    since = api.mark()
    await start_round(api, ann)
    assert round_row(database_url)[3] is None
    api.send_message("/reveal", user=ann, chat_id=GROUP, chat_type="group")
    reveal = await api.wait_for_call("sendMessage", lambda p: "/top" in p["text"], since=since)
    assert "message_thread_id" not in reveal["params"]
