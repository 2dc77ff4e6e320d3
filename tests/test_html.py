"""Everything the bot sends is HTML, set once (``Defaults`` in ``bot.app.build_application``).

No handler passes ``parse_mode`` itself, so this walks through every kind of text the bot
sends or edits (replies, button edits, job edits, documents' captions, inline results, the
error apology) and checks what reached the Bot API: without the default, the HTML in
bot/texts.py would show up as literal tags.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.handlers.favorites import UNDO_SECONDS_KEY
from tests.conftest import say

ANN = 1001
TEXT_METHODS = ("sendMessage", "editMessageText", "sendDocument")


async def reply_to(api: FakeBotApi, text: str) -> dict[str, Any]:
    """Send ``text``; the bot's answer as it is stored."""
    await say(api, text)
    return api.bot_messages(ANN)[-1]


async def press(api: FakeBotApi, message: dict[str, Any], label: str, then: str) -> None:
    since = api.mark()
    api.press_button(message, api.find_button(message, label))
    await api.wait_for_call(then, since=since)


async def test_every_text_the_bot_sends_or_edits_is_html(api: FakeBotApi, bot: Application) -> None:
    bot.bot_data[UNDO_SECONDS_KEY] = 0.3
    await say(api, "/start")
    answer = await reply_to(api, "/name Ser")
    await press(api, answer, "⭐", "editMessageReplyMarkup")
    await press(api, answer, "🔄", "sendMessage")  # a fresh list from a button
    listing = await reply_to(api, "/favorites")
    since = api.mark()
    await press(api, listing, "🗑", "editMessageText")  # the list with ↩ Undo
    # the undo window's job shows the plain list again
    await api.wait_for_call("editMessageText", lambda p: "Removed" not in p["text"], since=since)
    await press(api, answer, "⭐", "editMessageReplyMarkup")
    since = api.mark()
    api.send_message("/export")
    await api.wait_for_call("sendDocument", lambda p: "CSV" in p["caption"], since=since)
    menu = await reply_to(api, "/temp")
    await press(api, menu, "0.8", "editMessageText")
    review = api.send_message("A wonderful film, I loved every minute of it.")
    await api.wait_for_reply(ANN)
    since = api.mark()
    api.edit_message(review, "A dull, boring film. I hated every minute of it.")
    await api.wait_for_call("editMessageText", since=since)  # the answer, edited
    await say(api, "/game")
    since = api.mark()
    api.send_message("/reveal")
    await api.wait_for_call("editMessageText", since=since)  # the round closed
    await api.wait_for_reply(ANN, since=since)  # the answer
    api.fail("sendMessage", when=lambda params: "/export" in params.get("text", ""))
    apology = await say(api, "/help")  # /help fails once: the error handler apologises
    assert "went wrong" in apology

    texts = [c for c in api.calls if c["ok"] and c["method"] in TEXT_METHODS]
    assert {c["method"] for c in texts} == set(TEXT_METHODS)
    assert len(texts) >= 15
    for call in texts:
        assert call["params"].get("parse_mode") == "HTML", api.dump_calls()
    # HTML was parsed, not shown: the /favorites header is bold, no tag shows
    shown = [m["text"] for m in api.bot_messages(ANN) if "text" in m]
    assert not any("<b>" in text for text in shown)
    assert any(e["type"] == "bold" for e in listing["entities"])


async def test_inline_results_are_sent_as_html(api: FakeBotApi, bot: Application) -> None:
    since = api.mark()
    query_id = api.inline_query("Ser")
    await api.wait_for_call("answerInlineQuery", since=since)
    results = api.inline_answers[query_id]["results"]
    assert results
    for result in results:
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML" and content["message_text"] == result["title"]
