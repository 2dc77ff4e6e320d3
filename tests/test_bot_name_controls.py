"""Sex/era/race controls, /fullname, prefixes with separators and inline markers, end to end.

Real PTB Application over HTTP against the fake Bot API, the shipped name checkpoints and a
real SQLite file.
"""

from __future__ import annotations

import html
import re
from typing import Any

from telegram.ext import Application, CommandHandler

from bot.fake_api import FakeBotApi
from bot.handlers.names import format_names
from bot.services.names import NameBatch, parse_query
from bot.texts import plural_form, t
from ml.names.russian import is_female_form, surname_for
from ml.names.sample import GeneratedName, Shape
from tests.conftest import say
from tests.dbutil import rows

ANN = 1001
NAME_LINE = re.compile(r"^(✨|📖) (.+)$", re.M)
FULL_LINE = re.compile(r"^👤 (.+)$", re.M)


def names_in(text: str) -> list[str]:
    """Names as the user sees them (the reply is HTML: O'Br arrives as O&#x27;Br)."""
    return [html.unescape(m.group(2)) for m in NAME_LINE.finditer(text)]


def full_names_in(text: str) -> list[list[str]]:
    return [
        [html.unescape(p).rstrip("✨") for p in m.group(1).split(" ")]
        for m in FULL_LINE.finditer(text)
    ]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


async def ask(api: FakeBotApi, text: str, chat_id: int = ANN, **kwargs: Any) -> dict[str, Any]:
    """Send a command and return the bot's answer message (with its buttons)."""
    since = api.mark()
    api.send_message(text, chat_id=chat_id, **kwargs)
    await api.wait_for_reply(chat_id, since=since)
    return api.bot_messages(chat_id)[-1]


async def press_for_reply(
    api: FakeBotApi, message: dict[str, Any], data: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Press a button that answers with a fresh message; (callback answer, new message)."""
    since = api.mark()
    query_id = api.press_button(message, data, **kwargs)
    await api.wait_for_reply(message["chat"]["id"], since=since)
    await api.wait_for_call("answerCallbackQuery", since=since)
    return api.callback_answers[query_id], api.bot_messages(message["chat"]["id"])[-1]


def setting(database_url: str, user_id: int, column: str) -> object:
    sql = f"SELECT {column} FROM user_settings WHERE user_id = :user"  # column: a test constant
    found = rows(database_url, sql, user=user_id)
    return found[0][0] if found else None


async def test_sex_and_era_buttons_become_settings(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    first = await ask(api, "/name Ma")
    labels = [b["text"] for b in buttons(first)]
    assert {"♀ female", "♂ male", "✓ ⚥ any"} <= set(labels), labels
    assert "🕰 any era" in labels and "👤 Full names" in labels

    answer, second = await press_for_reply(api, first, api.find_button(first, "♀ female"))
    assert "female" in answer["text"]
    assert setting(database_url, ANN, "sex") == "f"
    assert "♀ female" in second["text"] and len(names_in(second["text"])) == 8
    assert all(n.startswith("Ma") for n in names_in(second["text"]))

    _, third = await press_for_reply(api, second, api.find_button(second, "▶"))
    assert setting(database_url, ANN, "era") == "1880"
    assert "🕰 1880s" in third["text"] and "♀ female" in third["text"]

    # the next /name follows the saved controls; "any" clears one
    again = await ask(api, "/name")
    assert "♀ female" in again["text"] and "🕰 1880s" in again["text"]
    _, cleared = await press_for_reply(api, again, api.find_button(again, "⚥ any"))
    assert setting(database_url, ANN, "sex") is None
    assert "♀" not in cleared["text"].split("\n")[0]


async def test_forged_control_buttons_change_nothing(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    message = await ask(api, "/name")
    generation = api.find_button(message, "🔄").split(":")[1]
    for data in (
        f"ctl:{generation}:sex:x",
        f"ctl:{generation}:race:elf",  # English names have no race
        f"ctl:{generation}:era:1875",
        f"ctl:{generation}:full:7",
        "ctl:999999:sex:f",
        "ctl:1:sex",
    ):
        since = api.mark()
        query_id = api.press_button(message, data, forged=True)
        await api.wait_for_call("answerCallbackQuery", since=since)
        assert api.callback_answers[query_id].get("show_alert"), data
    assert setting(database_url, ANN, "sex") is None
    assert setting(database_url, ANN, "race") is None
    assert len(api.bot_messages(ANN)) == 1


async def test_fullname_in_english(api: FakeBotApi, bot: object) -> None:
    reply = await say(api, "/fullname Jo")
    names = full_names_in(reply)
    assert len(names) == 8, reply
    assert all(len(parts) >= 2 and parts[0].startswith("Jo") for parts in names)
    assert all(p[0].isupper() for parts in names for p in parts if p not in ("of", "the"))


async def test_fullname_in_russian_agrees_with_sex(api: FakeBotApi, bot: object) -> None:
    ivan = api.user(ANN, "Иван", language_code="ru")
    await say(api, "/style ru", user=ivan)
    message = await ask(api, "/fullname", user=ivan)
    assert "Полные имена" in message["text"]
    _, women = await press_for_reply(api, message, api.find_button(message, "♀ женские"))
    parsed = full_names_in(women["text"])
    assert len(parsed) == 8, women["text"]
    for first, middle, last in parsed:
        assert middle.endswith(("вна", "ична")), (first, middle, last)
        # a woman's surname is in its female form: the rule changes nothing more ("Иванова",
        # "Шин" and "Цой", too short a stem to be gendered, stay; "Иванов" would not)
        assert surname_for(last, "f") == last, (first, middle, last)
    _, men = await press_for_reply(api, women, api.find_button(women, "♂ мужские"))
    for first, middle, last in full_names_in(men["text"]):
        assert middle.endswith("ич") and not is_female_form(last), (first, middle, last)


async def test_fantasy_race_switch(api: FakeBotApi, bot: object, database_url: str) -> None:
    await say(api, "/style fantasy")
    message = await ask(api, "/name")
    assert "🧝 any race" in [b["text"] for b in buttons(message)]
    _, human = await press_for_reply(api, message, api.find_button(message, "▶"))
    assert setting(database_url, ANN, "race") == "human"
    assert "🧑 Human" in human["text"] and len(names_in(human["text"])) == 8
    _, back = await press_for_reply(api, human, api.find_button(human, "◀"))
    assert "🧑" not in back["text"].split("\n")[0]
    assert setting(database_url, ANN, "race") is None


async def test_prefixes_with_spaces_hyphens_apostrophes_and_accents(
    api: FakeBotApi, bot: object
) -> None:
    for prefix in ("Mary Ann", "O'Br", "Anne-Ma", "Zoë"):
        names = names_in(await say(api, f"/name {prefix}"))
        assert names and all(n.startswith(prefix) and n != prefix for n in names), prefix
    cyrillic = await say(api, "/name Петя")
    assert "/style ru" in cyrillic  # a style that can write it is suggested
    digits = await say(api, "/name 12")
    assert "/style" not in digits and "letters" in digits


async def test_inline_sex_marker(api: FakeBotApi, bot: object) -> None:
    since = api.mark()
    query_id = api.inline_query("f:Ma")
    await api.wait_for_call("answerInlineQuery", since=since)
    titles = [r["title"] for r in api.inline_answers[query_id]["results"]]
    assert len(titles) == 10 and all(t.startswith("Ma") and t != "Ma" for t in titles)


async def test_shape_words_in_name_and_more(api: FakeBotApi, bot: object) -> None:
    first = await ask(api, "/name Ma..ella")
    names = names_in(first["text"])
    assert names and all(n.startswith("Ma") and n.endswith("ella") for n in names), first
    assert "ending in “ella”" in first["text"]
    _, again = await press_for_reply(api, first, api.find_button(first, "🔄"))
    assert all(n.startswith("Ma") and n.endswith("ella") for n in names_in(again["text"]))
    ranged = names_in(await say(api, "/name ..son 5-7"))
    assert ranged and all(n.endswith("son") and 5 <= len(n) <= 7 for n in ranged)
    exact = names_in(await say(api, "/name Jo 4"))
    assert exact and all(len(n) == 4 and n.startswith("Jo") for n in exact)
    assert "contradict" in await say(api, "/name Ma 9-3")
    assert "/style ru" in await say(api, "/name ..ова")  # an ending this style cannot write


def test_query_parsing_and_plural_forms() -> None:
    query = parse_query("Mary Ann..e 5-9")
    assert query.prefix == "Mary Ann" and query.shape == Shape(5, 9, "e")
    assert parse_query(query.text) == query  # what an answer stores re-parses to itself
    assert parse_query("Jo 4").shape == Shape(4, 4)
    assert parse_query("..son").prefix == "" and parse_query("-6").shape == Shape(0, 6)
    assert parse_query("Ma - x").prefix == "Ma - x"  # a lone hyphen is not a length
    assert [plural_form("ru", n) for n in (1, 2, 5, 11, 21, 22, 112)] == [
        "one",
        "few",
        "many",
        "many",
        "one",
        "few",
        "many",
    ]
    assert [plural_form("en", n) for n in (1, 2, 0)] == ["one", "other", "other"]


def test_short_answers_use_real_plurals() -> None:
    """Issue 12 item 2: "Only 1 distinct names" / "1 разных имён" were wrong."""
    one = NameBatch("en", "Xy", 1.0, [GeneratedName("Xyla", False)])
    two = NameBatch("ru", "Ан", 1.0, [GeneratedName("Анна", True), GeneratedName("Аня", True)])
    assert "Only 1 distinct name came out" in format_names(one, "en", requested=8)
    assert "только 1 имя" in format_names(one, "ru", requested=8)
    assert "только 2 разных имени" in format_names(two, "ru", requested=8)
    assert "Only 2 distinct names" in format_names(two, "en", requested=8)


async def test_apology_follows_the_chosen_language(api: FakeBotApi, bot: Application) -> None:
    """Issue 12 item 3: the error reply used Telegram's language, not the one chosen."""

    async def broken(update: object, context: object) -> None:
        raise RuntimeError("a handler bug")

    bot.add_handler(CommandHandler("boom", broken), group=-1)
    english_client = api.user(ANN, "Ann", language_code="en")
    await say(api, "/language ru", user=english_client)
    apology = await say(api, "/boom", user=english_client)
    assert apology == t("ru", "error")
