"""/start, /help, /name, /temp, /style end to end: fake Bot API, real PTB, real database."""

from __future__ import annotations

import re

import pytest

from bot.fake_api import FakeBotApi
from tests.conftest import BotRunner, say
from tests.dbutil import rows

NAME_LINE = re.compile(r"^(✨|📖) (.+)$", re.M)


def names_in(reply: str) -> list[str]:
    return [m.group(2) for m in NAME_LINE.finditer(reply)]


def stored_temperature(database_url: str, user_id: int) -> float | None:
    found = rows(
        database_url, "SELECT temperature FROM user_settings WHERE user_id = :u", u=user_id
    )
    return found[0][0] if found else None


async def test_start_help_and_command_menus(api: FakeBotApi, bot: object) -> None:
    assert "Namecraft" in await say(api, "/start")
    ru = api.user(2002, "Иван", language_code="ru")
    assert "Привет, Иван" in await say(api, "/start", user=ru)
    help_text = await say(api, "/help")
    assert "/name" in help_text and "/temp" in help_text
    menu_en = [c["command"] for c in api.get_commands()]
    menu_ru = api.get_commands(language_code="ru")
    assert {"name", "temp", "style", "help"} <= set(menu_en)
    assert any("Придумать" in c["description"] for c in menu_ru)
    assert "/name" in api.profile[""]["description"]  # "What can this bot do?" screen
    assert "отзыв" in api.profile["ru"]["description"]


async def test_name_with_prefix_gives_eight_names_starting_with_it(
    api: FakeBotApi, bot: object
) -> None:
    reply = await say(api, "/name Ser")
    names = names_in(reply)
    assert len(names) == 8, reply
    assert all(n.startswith("Ser") and n != "Ser" for n in names)
    assert len(set(names)) == 8
    random_names = names_in(await say(api, "/name"))
    assert len(random_names) == 8 and all(n[0].isupper() for n in random_names)


async def test_name_works_addressed_in_a_group(api: FakeBotApi, bot: object) -> None:
    user = api.user(3003, "Bo")
    reply = await say(
        api, "/name@namecraft_test_bot mar", user=user, chat_id=-100, chat_type="group"
    )
    assert names_in(reply) and all(n.startswith("Mar") for n in names_in(reply))


async def test_temperature_survives_a_restart(
    api: FakeBotApi, bot_runner: BotRunner, database_url: str
) -> None:
    async with bot_runner():
        assert "1.5" in await say(api, "/temp 1.5")
    assert stored_temperature(database_url, 1001) == 1.5
    async with bot_runner():
        assert "1.5" in await say(api, "/temp")
        assert "0.7" in await say(api, "/temp 0,7")
    assert stored_temperature(database_url, 1001) == 0.7


@pytest.mark.parametrize("bad", ["abc", "99", "0", "-1", "nan", "inf", "1e9", "0.5.5", "🔥"])
async def test_bad_temperatures_are_refused_and_change_nothing(
    api: FakeBotApi, bot: object, database_url: str, bad: str
) -> None:
    await say(api, "/temp 1.2")
    reply = await say(api, f"/temp {bad}")
    assert "0.1" in reply and "2.0" in reply and "1.2" in reply, reply
    assert stored_temperature(database_url, 1001) == 1.2


async def test_temperature_buttons(api: FakeBotApi, bot: object, database_url: str) -> None:
    since = api.mark()
    api.send_message("/temp")
    await api.wait_for_reply(1001, since=since)
    message = api.bot_messages(1001)[-1]
    data = api.find_button(message, "1.3")
    since = api.mark()
    api.press_button(message, data)
    await api.wait_for_call("editMessageText", since=since)
    assert "1.3" in api.bot_messages(1001)[-1]["text"]
    assert stored_temperature(database_url, 1001) == 1.3


async def test_forged_settings_button_changes_nothing(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    await say(api, "/temp 0.9")
    since = api.mark()
    api.send_message("/temp")
    await api.wait_for_reply(1001, since=since)
    message = api.bot_messages(1001)[-1]
    forgeries = ("temp:77", "temp:nan", "temp:", "style:klingon", "lang:xx", "temp:0.3;drop", "zz")
    for forged in forgeries:
        since = api.mark()
        query_id = api.press_button(message, forged, forged=True)
        await api.wait_for_call("answerCallbackQuery", since=since)
        assert api.callback_answers[query_id].get("show_alert"), forged
    assert stored_temperature(database_url, 1001) == 0.9


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("🙂", "🙂"),
        ("S" * 500, "too long"),
        ("Сер", "/style ru"),
        ("a\ue000b", "U+E000"),  # unprintable: named by code point (controls are dropped
        # where updates arrive, bot/sanitize.py, so "a\u0007b" simply means "ab")
        ("x<b>y", "&lt;"),
    ],
)
async def test_bad_prefixes_get_a_friendly_reply(
    api: FakeBotApi, bot: object, database_url: str, prefix: str, expected: str
) -> None:
    await say(api, "/temp 1.1")
    since = api.mark()
    api.send_message(f"/name {prefix}")
    call = await api.wait_for_call("sendMessage", since=since)
    assert call["ok"], call
    raw = call["params"]["text"]
    assert expected in raw, raw
    assert not names_in(api.bot_messages(1001)[-1]["text"])
    assert stored_temperature(database_url, 1001) == 1.1


async def test_style_switch_changes_alphabet(api: FakeBotApi, bot: object) -> None:
    assert "ru" in (await say(api, "/style xx"))
    await say(api, "/style ru")
    names = names_in(await say(api, "/name Сер"))
    assert names and all(n.startswith("Сер") for n in names)
    ru_user = api.user(4004, "Оля", language_code="ru")
    names = names_in(await say(api, "/name Ан", user=ru_user))  # Russian users default to ru
    assert names and all(n.startswith("Ан") for n in names)


async def test_language_switch_and_unknown_command(api: FakeBotApi, bot: object) -> None:
    assert "English" in await say(api, "/language en")
    await say(api, "/language ru")
    assert "команды" in await say(api, "/frobnicate")
