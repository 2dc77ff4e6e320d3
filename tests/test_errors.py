"""The error handler: a handler that fails still gets the user an answer, in their language,
shaped for what they did (a message: a reply, tests/test_bot_name_controls.py; a button press:
an alert; an inline query: an empty answer rather than a spinner until Telegram gives up)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, InlineQueryHandler

from bot.fake_api import FakeBotApi
from bot.texts import t
from tests.conftest import say


async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise RuntimeError("a handler bug")


async def test_a_failing_button_press_gets_the_apology_as_an_alert(
    api: FakeBotApi, bot: Application
) -> None:
    bot.add_handler(CallbackQueryHandler(broken, pattern="^boom$"), group=-1)
    olga = api.user(3003, "Оля", language_code="ru")
    await say(api, "/temp", user=olga)
    menu = api.bot_messages(3003)[-1]
    since = api.mark()
    query_id = api.press_button(menu, "boom", user=olga, forged=True)
    await api.wait_for_call("answerCallbackQuery", since=since)
    assert api.callback_answers[query_id] == {"text": t("ru", "error"), "show_alert": True}
    assert api.bot_messages(3003)[-1] == menu  # an alert, not a message in the chat


async def test_a_failing_inline_query_gets_an_empty_answer(
    api: FakeBotApi, bot: Application
) -> None:
    bot.add_handler(InlineQueryHandler(broken), group=-1)
    since = api.mark()
    query_id = api.inline_query("Ser")
    await api.wait_for_call("answerInlineQuery", since=since)
    answer = api.inline_answers[query_id]
    assert answer["results"] == [] and answer["cache_time"] == 0 and answer["is_personal"]
