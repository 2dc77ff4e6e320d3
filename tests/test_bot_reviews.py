"""Reviews end to end with the shipped sentiment checkpoints, over the fake Bot API."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from telegram.ext import Application

from bot.fake_api import FakeBotApi
from tests.conftest import say
from tests.quiet import handled

POSITIVE_EN = (
    "An absolutely wonderful film. The acting is superb, the story is moving and beautifully "
    "told, and the music is gorgeous. One of the best movies I have seen in years, I loved "
    "every minute and will gladly watch it again. Highly recommended!"
)
NEGATIVE_EN = (
    "A terrible, boring waste of time. The plot makes no sense, the acting is awful and the "
    "dialogue is painfully stupid. I wanted to leave after twenty minutes. One of the worst "
    "films I have ever seen; avoid it."
)
POSITIVE_RU = (
    "Замечательный фильм! Великолепная игра актёров, трогательная история и прекрасная "
    "музыка. Смотрел с огромным удовольствием и обязательно пересмотрю. Один из лучших "
    "фильмов за последние годы, всем советую."
)
NEGATIVE_RU = (
    "Ужасный, скучный фильм. Сюжет бессмысленный, актёры играют отвратительно, диалоги "
    "глупые. Еле досидел до конца и жалею о потраченном времени. Один из худших фильмов, "
    "которые я видел, не тратьте деньги."
)


@pytest.mark.parametrize(
    ("review", "verdict"),
    [
        (POSITIVE_EN, "Positive"),
        (NEGATIVE_EN, "Negative"),
        (POSITIVE_RU, "Positive"),
        (NEGATIVE_RU, "Negative"),
    ],
)
async def test_clear_reviews_get_the_right_verdict(
    api: FakeBotApi, bot: object, review: str, verdict: str
) -> None:
    reply = await say(api, review)
    assert verdict in reply, reply
    assert "% sure" in reply
    # The reason quotes the review's own words; no model jargon in the verdict.
    why = next(line for line in reply.splitlines() if line.startswith("Why: "))
    quoted = re.findall(r"“([^”]+)”", why)
    assert quoted and all(q in review for q in quoted), reply
    assert "BiGRU" not in reply and "IMDB" not in reply and "Read by" not in reply


async def test_russian_interface_for_russian_users(api: FakeBotApi, bot: object) -> None:
    user = api.user(5005, "Петя", language_code="ru")
    assert "Положительный" in await say(api, POSITIVE_RU, user=user)


async def test_review_command_in_a_group_and_as_reply(api: FakeBotApi, bot: Application) -> None:
    user = api.user(6006, "Gus")
    group = {"user": user, "chat_id": -100, "chat_type": "group"}
    assert "Negative" in await say(api, f"/review {NEGATIVE_EN}", **group)
    # ordinary chatter in a group gets no answer: handled, and nothing was sent or read
    since, readings = api.mark(), bot.bot_data["executor"].stats.calls
    api.send_message(POSITIVE_EN, **group)
    await handled(api, bot)
    assert api.calls[since:] == [] and bot.bot_data["executor"].stats.calls == readings
    # /review as a reply to someone's message reads that message
    original = api.send_message(POSITIVE_EN, **group)
    reply = await say(api, "/review", reply_to_message_id=original["message_id"], **group)
    assert "Positive" in reply
    assert "/review" in await say(api, "/review@namecraft_test_bot", **group)  # usage hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🙂🙂🔥", "no words"),
        ("12345 !!! ???", "no words"),
        ("東京は素晴らしい", "no words"),
    ],
)
async def test_unreadable_text_gets_a_hint(
    api: FakeBotApi, bot: object, text: str, expected: str
) -> None:
    assert expected in await say(api, text)


async def test_empty_review_command_and_huge_text(api: FakeBotApi, bot: object) -> None:
    assert "/review" in await say(api, "/review   ")
    huge = (NEGATIVE_EN + " ") * 97  # about 20,000 characters
    assert len(huge) > 19_000
    reply = await say(api, f"/review {huge}")
    assert "Negative" in reply and "long" in reply, reply


async def test_edited_review_updates_the_same_answer(api: FakeBotApi, bot: object) -> None:
    since = api.mark()
    message = api.send_message(POSITIVE_EN)
    await api.wait_for_reply(1001, since=since)
    answers_before = len(api.bot_messages(1001))
    since = api.mark()
    api.edit_message(message, NEGATIVE_EN)
    call = await api.wait_for_call("editMessageText", since=since)
    assert "Negative" in call["params"]["text"]
    assert len(api.bot_messages(1001)) == answers_before  # no second, unrelated answer


async def test_an_edit_that_keeps_the_verdict_changes_nothing(api: FakeBotApi, bot: object) -> None:
    """A trailing space added: the same reading, so the edit of the answer would change
    nothing; Telegram refuses it ("not modified"), which is not a reason to answer afresh."""
    since = api.mark()
    message = api.send_message(POSITIVE_EN)
    await api.wait_for_reply(1001, since=since)
    answers = api.bot_messages(1001)
    since = api.mark()
    api.edit_message(message, POSITIVE_EN + " ")
    edit = await api.wait_for_call("editMessageText", since=since)
    assert not edit["ok"] and "not modified" in edit["error"]
    help_text = await say(api, "/help")  # a later, known reply: nothing else came before it
    sent = [c["params"]["text"] for c in api.calls[since:] if c["method"] == "sendMessage"]
    assert sent == [help_text] and "Namecraft" in help_text
    assert api.bot_messages(1001)[: len(answers)] == answers


# One-line messages, the bot's usual input: clear-cut ones in all three classes, both languages.
SHORT_MESSAGES = [
    ("I love this song so much, it makes me happy!", "en", "Positive"),
    ("This is the worst service ever, I hate it.", "en", "Negative"),
    ("The meeting has been moved to Tuesday at 3 pm.", "en", "Neutral"),
    ("Обожаю этот фильм, просто супер!", "ru", "Положительный"),
    ("Ужасный сервис, никогда больше не приду.", "ru", "Отрицательный"),
    ("Завтра собрание в 10 утра в актовом зале.", "ru", "Нейтральный"),
    # chat words the review-trained BPE splits into pieces: known through the lexicon
    ("Бесит, ненавижу понедельники", "ru", "Отрицательный"),
    ("Кайф, спасибо)))", "ru", "Положительный"),
]


@pytest.mark.parametrize(("text", "lang", "verdict"), SHORT_MESSAGES)
async def test_short_messages_get_the_right_three_way_verdict(
    api: FakeBotApi, bot: object, text: str, lang: str, verdict: str
) -> None:
    user = api.user(7000 + SHORT_MESSAGES.index((text, lang, verdict)), "Sam", language_code=lang)
    reply = await say(api, text, user=user)
    first = reply.splitlines()[0]
    assert verdict in first, reply
    if verdict in ("Neutral", "Нейтральный"):
        return
    why = "Why: " if lang == "en" else "Почему: "
    line = next(line for line in reply.splitlines() if line.startswith(why))
    quoted = re.findall(r"[“«]([^”»]+)[”»]", line)
    assert quoted and all(q in text for q in quoted), reply  # the user's own words


@pytest.mark.parametrize(
    ("text", "lang"),
    [("asdkjh qwpoeiru zxmcnvb", "en"), ("ааааааааааааааа", "ru"), ("Zzyzx Qwrtp", "en")],
)
async def test_gibberish_is_not_judged(api: FakeBotApi, bot: object, text: str, lang: str) -> None:
    user = api.user(7100, "Sam", language_code=lang)
    reply = await say(api, text, user=user)
    assert ("Nothing here I can judge" if lang == "en" else "нечего оценить") in reply, reply
    assert "%" not in reply


async def test_a_letter_repeated_3000_times_is_not_98_percent_positive(
    api: FakeBotApi, bot: object
) -> None:
    reply = await say(api, "/review " + "a" * 3000)
    assert "Nothing here I can judge" in reply and "Positive" not in reply, reply


async def test_about_names_the_models_and_their_terms(api: FakeBotApi, bot: object) -> None:
    reply = await say(api, "/about")
    assert "non-commercial" in reply and "short texts (en)" in reply, reply
    ru = await say(api, "/about", user=api.user(7200, "Петя", language_code="ru"))
    assert "некоммерческого" in ru


@pytest.mark.parametrize(("text", "lang"), [("John", "en"), ("Mary Smith", "en"), ("Анна", "ru")])
async def test_only_a_name_is_never_a_confident_mood(
    api: FakeBotApi, bot: object, text: str, lang: str
) -> None:
    reply = await say(api, text, user=api.user(7300, "Sam", language_code=lang))
    first = reply.splitlines()[0]
    neutral = "Neutral" if lang == "en" else "Нейтральный"
    # Neutral, or a verdict flagged as unsure: never "98% positive" for a bare name.
    assert neutral in first or first.startswith("🤔"), reply


async def test_edit_after_the_answer_was_deleted_gets_a_fresh_answer(
    api: FakeBotApi, bot: object
) -> None:
    since = api.mark()
    message = api.send_message(POSITIVE_EN)
    first = await api.wait_for_reply(1001, since=since)
    [answer] = [m for m in api.bot_messages(1001) if m["text"].startswith("😊")]
    api._delete_message({"chat_id": 1001, "message_id": answer["message_id"]})  # user deleted it
    since = api.mark()
    api.edit_message(message, NEGATIVE_EN)
    fresh = await api.wait_for_reply(1001, since=since)
    assert "Negative" in fresh["text"] and "Positive" in first["text"]
    assert not any("went wrong" in m["text"] for m in api.bot_messages(1001))


async def test_typing_is_shown_only_when_a_reading_is_slow(api: FakeBotApi, bot: Any) -> None:
    """ "typing…" costs a send out of ~30 a second: a quick reading goes without it, a reading
    held up past TYPING_AFTER (here: the inference queue's only worker busy) shows it."""
    import threading

    from bot.handlers.reviews import TYPING_AFTER

    since = api.mark()
    await say(api, "What a wonderful film, I loved it")
    assert not [c for c in api.calls[since:] if c["method"] == "sendChatAction"]

    executor = bot.bot_data["executor"]
    release = threading.Event()
    blockers = [
        asyncio.ensure_future(executor.run(release.wait, 10)) for _ in range(executor.workers)
    ]
    since = api.mark()
    api.send_message("A dull, boring film. I hated it")
    await asyncio.sleep(TYPING_AFTER + 0.5)
    release.set()
    await asyncio.gather(*blockers)
    await api.wait_for_reply(api.user()["id"], since=since)
    methods = [c["method"] for c in api.calls[since:]]
    assert methods.index("sendChatAction") < methods.index("sendMessage")
