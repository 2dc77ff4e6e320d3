"""User text is cleaned once where updates enter the bot (issue 12 item 13).

Lone UTF-16 surrogates are legal in Bot API JSON ("\\ud800") but cannot be encoded again, so
echoing or storing them used to fail inside handlers; control and zero-width characters made
good input look bad. Every case here goes through the fake Bot API over real HTTP and must
get exactly one friendly answer, with no ERROR log and no traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.sanitize import clean_payload, clean_text
from bot.texts import t
from tests.quiet import handled

SORRY = t("en", "error")


def test_clean_text() -> None:
    assert clean_text("Se\ud800r") == "Se\ufffdr"
    assert clean_text("\u200bSer\u200b\u2060\ufeff") == "Ser"
    assert clean_text("A\x00B\x07C\x7f\x85") == "ABC"
    assert clean_text("line 1\n\tline 2\r\n") == "line 1\n\tline 2\r\n"
    assert clean_text("\u202eevil\u202c \u200e") == "evil "
    assert clean_text("Ser\u00adgei") == "Sergei"
    assert clean_text("Ser\u200dgei") == "Sergei"  # a joiner inside a word hides nothing
    assert clean_text("👩\u200d💻 ok") == "👩\u200d💻 ok"  # but glues an emoji sequence
    assert clean_text("Ёжик, Zoë, 🙂, Мария") == "Ёжик, Zoë, 🙂, Мария"


def test_entities_keep_pointing_at_their_text() -> None:
    # "\u200b" before the command, "\ud800" (1 UTF-16 unit, stays as U+FFFD) and 🙂 (2 units)
    text = "\u200b/name \u200bSe\ud800r 🙂 bold"
    entities = [
        {"type": "bot_command", "offset": 1, "length": 5},
        {"type": "bold", "offset": 16, "length": 4},
        {"type": "italic", "offset": 7, "length": 1},  # only the zero-width space: dropped
    ]
    cleaned = clean_payload({"message": {"text": text, "entities": entities}})["message"]
    assert cleaned["text"] == "/name Se\ufffdr 🙂 bold"
    command, bold = cleaned["entities"]
    assert (command["offset"], command["length"]) == (0, 5)
    assert (bold["offset"], bold["length"]) == (14, 4)


def test_payload_cleans_every_string_and_leaves_the_rest() -> None:
    payload = {
        "ok": True,
        "result": [
            {
                "update_id": 7,
                "message": {
                    "from": {"id": 1, "is_bot": False, "first_name": "Ann\ud800\x07"},
                    "caption": "a\u200bb",
                    "caption_entities": [{"type": "bold", "offset": 2, "length": 1}],
                },
            }
        ],
    }
    message = clean_payload(payload)["result"][0]["message"]
    assert message["from"] == {"id": 1, "is_bot": False, "first_name": "Ann\ufffd"}
    assert message["caption"] == "ab"
    assert message["caption_entities"] == [{"type": "bold", "offset": 1, "length": 1}]


async def answers_since(
    api: FakeBotApi, app: Application, since: int, chat_id: int
) -> list[dict[str, Any]]:
    """What the bot sent to ``chat_id`` after ``since``, once it has handled every update (a
    second, wrong answer would be in by then)."""
    await handled(api, app)
    return [
        call
        for call in api.calls[since:]
        if call["method"] in ("sendMessage", "sendDocument", "answerCallbackQuery")
        and str(call["params"].get("chat_id", chat_id)) == str(chat_id)
    ]


def assert_quiet_log(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [f"{r.levelname} {r.name}: {r.getMessage()}" for r in bad]


# (what the user sends, a piece of the one answer expected)
MESSAGES = [
    ("/name Ser\u200b", "Names starting with “Ser”"),
    ("/name \x07Ser", "Names starting with “Ser”"),
    ("/name Se\ud800r", "can't write these characters: \ufffd"),
    ("/fullname \u200bMa\x00", "Full names, first name starting with “Ma”"),
    ("/fullname Ma\ud800", "can't write these characters: \ufffd"),
    ("/review a superb\u200b film\ud800, I loved it", "Positive"),
    ("/review \x00\u200b\x01", "Send /review followed by a review"),
    ("/review \ud800\ud800", "I see no words here"),
    ("what a wonderful\u2060 day \ud83d\x00", "Positive"),
    ("\u200b\u200b\ufeff", "Send me something to read"),
    ("\ud800", "I see no words here"),
    ("/temp 0.\ud8007", "isn't a temperature I can use"),
    ("/style \u200bru", "Style set to Russian"),
    ("/style en", "Style set to English"),
]


async def test_messages_with_surrogates_and_invisible_characters_get_one_friendly_answer(
    api: FakeBotApi, bot: Application, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for text, expected in MESSAGES:
        since = api.mark()
        api.send_message(text)
        answers = await answers_since(api, bot, since, 1001)
        assert len(answers) == 1, (text, api.dump_calls(since))
        shown = answers[0]["params"]["text"]
        assert expected in shown and SORRY not in shown, (text, shown)
    assert_quiet_log(caplog)


async def test_names_with_surrogates_are_greeted_stored_and_scored(
    api: FakeBotApi, bot: Application, caplog: pytest.LogCaptureFixture
) -> None:
    """A first name with a lone surrogate used to make /start and a game vote fail (the reply
    and the database could not encode it)."""
    caplog.set_level(logging.WARNING)
    odd = api.user(2002, first_name="Ann\ud800\u200b\x07")
    since = api.mark()
    api.send_message("/start", user=odd)
    [greeting] = await answers_since(api, bot, since, 2002)
    assert greeting["params"]["text"].startswith("Hi, Ann\ufffd!")

    since = api.mark()
    api.send_message("/game", user=odd, chat_type="group")
    [round_call] = await answers_since(api, bot, since, -100)
    round_message = round_call["result"]
    data = round_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    since = api.mark()
    query_id = api.press_button(round_message, data, user=odd)
    await api.wait_for_call("answerCallbackQuery", since=since)
    assert SORRY not in (api.callback_answers[query_id].get("text") or "")
    since = api.mark()
    api.send_message("/reveal", user=odd, chat_type="group")
    result = await api.wait_for_reply(-100, since=since, timeout=20)
    assert "Ann\ufffd" in result["text"]
    assert_quiet_log(caplog)


@pytest.mark.parametrize(
    ("query", "names"),
    [("\u200bSer", True), ("Ser\x00", True), ("\u2066Ser\u2069", True), ("Se\ud800", False)],
)
async def test_inline_queries_are_cleaned_too(
    api: FakeBotApi, bot: Application, caplog: pytest.LogCaptureFixture, query: str, names: bool
) -> None:
    caplog.set_level(logging.WARNING)
    since = api.mark()
    query_id = api.inline_query(query)
    await handled(api, bot)
    assert [c["method"] for c in api.calls[since:]].count("answerInlineQuery") == 1
    answer = api.inline_answers[query_id]
    titles = [result["title"] for result in answer["results"]]
    if names:
        assert titles and all(title.startswith("Ser") for title in titles)
    else:  # a character no style writes: nothing to post, a button that explains why
        assert titles == [] and answer["button"]["start_parameter"].startswith("why-")
    assert_quiet_log(caplog)
