"""Settings buttons (temp:/style:/lang:) act only for the presser and only on their own menu."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application

from bot.fake_api import FakeBotApi
from tests.conftest import say
from tests.dbutil import rows

GROUP = -300


def settings(database_url: str) -> dict[int, tuple[float, str | None, str | None]]:
    found = rows(database_url, "SELECT user_id, temperature, style, language FROM user_settings")
    return {user_id: (temp, style, lang) for user_id, temp, style, lang in found}


async def bot_message(api: FakeBotApi, text: str, user: dict[str, Any]) -> dict[str, Any]:
    """Send ``text`` in the group as ``user``; the bot's answer as it is now."""
    since = api.mark()
    api.send_message(text, user=user, chat_id=GROUP, chat_type="group")
    await api.wait_for_reply(GROUP, since=since)
    return api.bot_messages(GROUP)[-1]


async def press(
    api: FakeBotApi, message: dict[str, Any], data: str, user: dict[str, Any], forged: bool
) -> dict[str, Any]:
    since = api.mark()
    query_id = api.press_button(message, data, user=user, forged=forged)
    await api.wait_for_call("answerCallbackQuery", since=since)
    return api.callback_answers[query_id]


def labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


def current(api: FakeBotApi, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in api.bot_messages(GROUP) if m["message_id"] == message["message_id"])


async def test_a_settings_press_forged_onto_another_message_changes_nothing(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """Bo's client sends settings data from a /name answer, a /favorites list and an open
    game round of Ann's: none of them turns into a settings menu, nobody's settings change."""
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    answer = await bot_message(api, "/name Ser", ann)
    await press(api, answer, api.find_button(answer, "⭐"), ann, forged=False)
    favorites = await bot_message(api, "/favorites", ann)
    game_round = await bot_message(api, "/game", ann)
    assert api.find_button(favorites, "🗑") and api.find_button(game_round, "Real")
    before = settings(database_url)
    since = api.mark()
    for message in (answer, favorites, game_round):
        shown = current(api, message)
        for data in ("temp:0.3", "style:ru", "lang:ru", "temp:0.3:2002", "lang:ru:1001"):
            toast = await press(api, message, data, bo, forged=True)
            assert toast.get("show_alert") and "out of date" in toast["text"], data
        assert current(api, message) == shown
    assert not [c for c in api.calls[since:] if c["method"].startswith("editMessage")]
    assert settings(database_url) == before and 2002 not in before


async def test_someone_elses_settings_menu_changes_only_the_pressers_setting(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    menu = await bot_message(api, "/temp", ann)
    toast = await press(api, menu, api.find_button(menu, "0.3"), bo, forged=False)
    assert "0.3" in toast["text"] and "someone else's" in toast["text"]
    assert not toast.get("show_alert")
    assert current(api, menu) == menu  # Ann's menu still shows her 1.0
    assert settings(database_url) == {2002: (0.3, None, None)}

    language = await bot_message(api, "/language", ann)
    toast = await press(api, language, api.find_button(language, "Русский"), bo, forged=False)
    assert "русский" in toast["text"] and "не ваше" in toast["text"]
    assert current(api, language) == language
    style = await bot_message(api, "/style", ann)
    await press(api, style, api.find_button(style, "Fantasy"), bo, forged=False)
    assert current(api, style) == style
    assert settings(database_url) == {2002: (0.3, "fantasy", "ru")}

    # Ann's own press edits her menu, as before
    since = api.mark()
    toast = await press(api, menu, api.find_button(menu, "1.3"), ann, forged=False)
    await api.wait_for_call("editMessageText", since=since)
    assert "1.3" in current(api, menu)["text"] and "✓ 1.3" in str(current(api, menu))
    assert settings(database_url)[1001][0] == 1.3
    assert settings(database_url)[2002] == (0.3, "fantasy", "ru")


async def test_style_and_language_menus_set_what_is_pressed(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """README: /style and /language show the choices as buttons; a press sets the choice,
    the menu shows it with ✓, and what comes next follows it."""

    async def menu(command: str) -> dict[str, Any]:
        since = api.mark()
        api.send_message(command)
        await api.wait_for_reply(1001, since=since)
        return api.bot_messages(1001)[-1]

    async def choose(message: dict[str, Any], label: str) -> dict[str, Any]:
        since = api.mark()
        api.press_button(message, api.find_button(message, label))
        await api.wait_for_call("editMessageText", since=since)
        return next(m for m in api.bot_messages(1001) if m["message_id"] == message["message_id"])

    styles = await menu("/style")
    assert styles["text"] == "Names are in the English style. Choose:"
    assert labels(styles) == ["✓ English", "Russian", "Fantasy"]
    chosen = await choose(styles, "Russian")
    assert chosen["text"] == "Style set to Russian. Try /name."
    assert labels(chosen) == ["English", "✓ Russian", "Fantasy"]
    assert settings(database_url)[1001][1] == "ru"
    assert (await say(api, "/name")).startswith("Random names · Russian ·")

    languages = await menu("/language")
    assert languages["text"] == "Interface language: English. Choose:"
    assert labels(languages) == ["✓ English", "Русский"]
    switched = await choose(languages, "Русский")
    assert switched["text"] == "Язык интерфейса: русский."
    assert labels(switched) == ["English", "✓ Русский"]
    assert settings(database_url)[1001][2] == "ru"
    assert (await say(api, "/help")).startswith("<b>Namecraft</b> придумывает имена")
    assert (await menu("/style"))["text"] == "Сейчас стиль «русский». Выберите:"


async def test_pressing_the_current_value_again_is_a_plain_confirmation(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """0.8 pressed twice: the second edit would change nothing and Telegram refuses it
    ("not modified"); that press stays answered once, with no apology."""
    since = api.mark()
    api.send_message("/temp")
    await api.wait_for_reply(1001, since=since)
    menu = api.bot_messages(1001)[-1]
    since = api.mark()
    api.press_button(menu, api.find_button(menu, "0.8"))
    assert (await api.wait_for_call("editMessageText", since=since))["ok"]
    menu = api.bot_messages(1001)[-1]  # "Temperature set to 0.8." with ✓ 0.8
    since = api.mark()
    query_id = api.press_button(menu, api.find_button(menu, "✓ 0.8"))
    edit = await api.wait_for_call("editMessageText", since=since)
    assert not edit["ok"] and "not modified" in edit["error"]
    await say(api, "/help")  # a later, known reply: no apology came before it
    answers = [c for c in api.calls[since:] if c["method"] == "answerCallbackQuery"]
    assert [c["ok"] for c in answers] == [True] and "text" not in api.callback_answers[query_id]
    assert [c["method"] for c in api.calls[since:] if c["method"] == "sendMessage"] == [
        "sendMessage"
    ]
    assert api.bot_messages(1001)[-2] == menu
    assert settings(database_url)[1001][0] == 0.8


async def test_a_press_with_empty_data_is_refused_like_a_stale_button(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """PTB hands a press with no data to the first pattern handler (the settings one) with no
    match: it is refused as out of date, not answered with the error handler's apology."""
    await say(api, "/temp 0.8")
    since = api.mark()
    api.send_message("/temp")
    await api.wait_for_reply(1001, since=since)
    menu = api.bot_messages(1001)[-1]
    since = api.mark()
    query_id = api.press_button(menu, "", forged=True)
    await api.wait_for_call("answerCallbackQuery", since=since)
    answer = api.callback_answers[query_id]
    assert answer.get("show_alert") and "out of date" in answer["text"]
    assert api.bot_messages(1001)[-1] == menu
    assert settings(database_url)[1001][0] == 0.8


async def test_a_settings_press_on_an_inline_message_is_a_toast(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """An inline-mode message has no settings menu: the press has only inline_message_id."""
    since = api.mark()
    query_id = api.press_inline_button("AgAAAInlineMsg", "temp:0.3")
    await api.wait_for_call("answerCallbackQuery", since=since)
    answer = api.callback_answers[query_id]
    assert "out of date" in answer["text"]  # not the error handler's apology
    assert not api.inline_message_edits
    assert [c["method"] for c in api.calls[since:]] == ["answerCallbackQuery"]
    assert settings(database_url) == {}


async def test_a_menu_sent_before_owners_were_in_the_data_still_works_privately(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    await say(api, "/start")
    legacy = InlineKeyboardMarkup(
        [[InlineKeyboardButton("1.3", callback_data="temp:1.3")]]  # no ":<owner>"
    )
    await bot.bot.send_message(1001, "Your temperature is 1.0.", reply_markup=legacy)
    menu = api.bot_messages(1001)[-1]
    since = api.mark()
    api.press_button(menu, "temp:1.3")
    await api.wait_for_call("editMessageText", since=since)
    assert "1.3" in api.bot_messages(1001)[-1]["text"]
    assert settings(database_url)[1001][0] == 1.3
