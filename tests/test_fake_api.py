"""Tests of the fake Bot API server, driven by a real PTB Application over real HTTP.

No mocks: if these pass, PTB 22 accepts the fake's wire format (URLs, form/multipart
decoding, JSON shapes, long polling, error codes), which is what every bot test relies on.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputFile,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.chat import render_keyboard, run_terminal_chat
from bot.fake_api import FakeBotApi, parse_formatted_text
from tests.quiet import handled

USER_ID = 1001


# ---- a tiny bot, just enough to exercise each part of the fake ------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("⭐ Serena", callback_data="pick:serena"),
                InlineKeyboardButton("Max", callback_data="pick:max"),
            ]
        ]
    )
    await update.effective_message.reply_text(
        "Pick a <b>name</b>:", reply_markup=keyboard, parse_mode=ParseMode.HTML
    )


async def picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    name = query.data.removeprefix("pick:").title()
    await query.edit_message_text(f"You picked {name}")
    await query.answer(f"Saved {name}!")


async def send_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    data = b"Serena\nMax\n"
    await update.effective_message.reply_document(
        InputFile(data, filename="names.txt"), caption="Your names"
    )


async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.inline_query is not None
    query = update.inline_query.query
    await update.inline_query.answer(
        [
            InlineQueryResultArticle(
                id="1",
                title=f"Name for {query}",
                input_message_content=InputTextMessageContent(f"Serena ({query})"),
            )
        ],
        cache_time=0,
    )


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.edited_message is not None
    await update.edited_message.reply_text(f"edited: {update.edited_message.text}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(f"echo: {update.message.text}")


def build_app(token: str, base_url: str) -> Application:
    app = ApplicationBuilder().token(token).base_url(base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("file", send_file))
    app.add_handler(CallbackQueryHandler(picked, pattern=r"^pick:"))
    app.add_handler(InlineQueryHandler(inline))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, edited))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, echo))
    return app


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[Application]:
    application = build_app(api.token, api.base_url)
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


# ---- the tests ------------------------------------------------------------------------------


async def test_initialize_gets_bot_identity(api: FakeBotApi) -> None:
    application = build_app(api.token, api.base_url)
    await application.initialize()
    try:
        assert application.bot.username == "namecraft_test_bot"
        assert application.bot.first_name == "Namecraft"
        assert application.bot.id == 123456
    finally:
        await application.shutdown()
    assert api.calls[0]["method"] == "getMe"


async def test_wrong_token_is_rejected(api: FakeBotApi) -> None:
    application = ApplicationBuilder().token("999:WRONG").base_url(api.base_url).build()
    with pytest.raises(InvalidToken):
        await application.initialize()
    await application.bot.shutdown()


async def test_long_polling_delivers_message_and_records_echo(
    api: FakeBotApi, app: Application
) -> None:
    since = api.mark()
    sent = api.send_message("hello there")
    reply = await api.wait_for_reply(USER_ID, since=since, timeout=5)
    assert reply["text"] == "echo: hello there"
    # reply_text in a private chat doesn't quote; the text is stored as the user sees it
    [message] = api.bot_messages(USER_ID)
    assert message["text"] == "echo: hello there"
    assert message["from"]["is_bot"] is True
    assert message["message_id"] == sent["message_id"] + 1


async def test_many_chats_wait_for_their_own_replies(api: FakeBotApi, app: Application) -> None:
    """wait_for_reply_call indexes replies per chat: 60 chats waiting at once each get their
    own answer (with the time it arrived); a failed send is no reply; a reply sent before the
    wait started is found at once; a timed-out waiter leaves nothing behind."""
    users = [api.user(user_id=5000 + i, first_name=f"U{i}") for i in range(60)]
    api.fail("sendMessage", when=lambda params: str(params.get("chat_id")) == "5000")
    since = api.mark()
    before = time.time()
    for user in users:
        api.send_message(f"hi {user['id']}", user=user)
    calls = await asyncio.gather(
        *(api.wait_for_reply_call(user["id"], since=since, timeout=10) for user in users[1:])
    )
    assert [call["params"]["text"] for call in calls] == [f"echo: hi {u['id']}" for u in users[1:]]
    assert all(call["ok"] and before <= call["time"] <= time.time() for call in calls)
    with pytest.raises(TimeoutError, match="no reply to chat 5000"):
        await api.wait_for_reply(5000, since=since, timeout=0.3)
    again = await api.wait_for_reply(5001, since=since, timeout=0.001)  # already there
    assert again["text"] == "echo: hi 5001"
    later = api.mark()
    with pytest.raises(TimeoutError):
        await api.wait_for_reply_call(5001, since=later, timeout=0.2)
    assert not any(api._reply_waiters.values())
    api.send_message("once more", user=users[1])
    assert (await api.wait_for_reply(5001, since=later, timeout=5))["text"] == "echo: once more"


async def test_long_poll_returns_early_when_update_arrives(api: FakeBotApi) -> None:
    """A getUpdates with a long timeout must answer as soon as an update is enqueued."""
    application = build_app(api.token, api.base_url)
    await application.initialize()
    try:
        poll = asyncio.create_task(application.bot.get_updates(timeout=20, read_timeout=25))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        api.send_message("wake up")
        updates = await asyncio.wait_for(poll, 3)
        assert time.monotonic() - started < 1
        assert [u.message.text for u in updates if u.message] == ["wake up"]
        # confirming with offset drops it
        confirmed = await application.bot.get_updates(offset=updates[-1].update_id + 1)
        assert confirmed == ()
    finally:
        await application.shutdown()


async def test_command_with_bot_username_gets_entity(api: FakeBotApi, app: Application) -> None:
    message = api.send_message("/start@namecraft_test_bot now")
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    reply = await api.wait_for_reply(USER_ID, since=0, timeout=5)
    assert reply["parse_mode"] == "HTML"
    [shown] = api.bot_messages(USER_ID)
    # Telegram strips the HTML and returns entities instead
    assert shown["text"] == "Pick a name:"
    assert shown["entities"] == [{"type": "bold", "offset": 7, "length": 4}]


async def test_group_command_for_other_bot_is_ignored(api: FakeBotApi, app: Application) -> None:
    since = api.mark()
    api.send_message("/start@other_bot", chat_type="group")
    api.send_message("/start@namecraft_test_bot", chat_type="group")
    await api.wait_for_call("sendMessage", lambda p: p["text"].startswith("Pick"), since=since)
    # the first one fell through CommandHandler to the echo handler
    assert [m["text"] for m in api.bot_messages(-100)] == ["echo: /start@other_bot", "Pick a name:"]


async def test_button_press_edits_message_and_answers(api: FakeBotApi, app: Application) -> None:
    api.send_message("/start")
    await api.wait_for_reply(USER_ID, since=0, timeout=5)
    [menu] = api.bot_messages(USER_ID)
    assert render_keyboard(menu) == "[1] ⭐ Serena  [2] Max"

    query_id = api.press_button(menu, api.find_button(menu, "Serena"))
    await api.wait_for_call("answerCallbackQuery", timeout=5)
    assert api.callback_answers[query_id]["text"] == "Saved Serena!"
    [edited_menu] = api.bot_messages(USER_ID)
    assert edited_menu["text"] == "You picked Serena"
    assert "reply_markup" not in edited_menu  # edit without markup drops the keyboard
    assert "edit_date" in edited_menu

    with pytest.raises(AssertionError, match="buttons"):
        api.find_button(edited_menu, "Max")  # the keyboard is gone now


async def test_edit_to_same_content_is_not_modified(api: FakeBotApi, app: Application) -> None:
    api.send_message("/start")
    await api.wait_for_reply(USER_ID, since=0, timeout=5)
    [menu] = api.bot_messages(USER_ID)
    bot = app.bot
    await bot.edit_message_text("Changed", chat_id=USER_ID, message_id=menu["message_id"])
    since = api.mark()
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Changed", chat_id=USER_ID, message_id=menu["message_id"])
    failed = await api.wait_for_call("editMessageText", since=since, timeout=1)
    assert failed["ok"] is False
    assert "message is not modified" in failed["error"]
    assert api.bot_messages(USER_ID)[0]["text"] == "Changed"


async def test_bad_requests_use_telegram_errors(api: FakeBotApi, app: Application) -> None:
    api.send_message("hi")
    await api.wait_for_reply(USER_ID, since=0, timeout=5)
    bot = app.bot
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER_ID, "")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER_ID, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "nobody talked to me here")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        too_long = InlineKeyboardButton("x", callback_data="d" * 65)
        await bot.send_message(USER_ID, "x", reply_markup=InlineKeyboardMarkup([[too_long]]))
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER_ID, "1 < 2 <br>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)HTML only"):  # the bot never sends Markdown
        await bot.send_message(USER_ID, "Hi. Bye!", parse_mode=ParseMode.MARKDOWN_V2)


async def test_injected_fault_fails_the_next_matching_call_only(
    api: FakeBotApi, app: Application
) -> None:
    api.send_message("hi")
    await api.wait_for_reply(USER_ID, since=0, timeout=5)
    api.fail("sendMessage", "Forbidden: bot was blocked by the user", error_code=403)
    api.fail("sendMessage", when=lambda params: params["text"] == "second")
    with pytest.raises(Forbidden, match="blocked"):
        await app.bot.send_message(USER_ID, "first")
    await app.bot.send_message(USER_ID, "later")  # the 403 was for one call only
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await app.bot.send_message(USER_ID, "second")
    await app.bot.send_message(USER_ID, "second")
    assert [m["text"] for m in api.bot_messages(USER_ID)][-2:] == ["later", "second"]
    failed = [c for c in api.calls if c["method"] == "sendMessage" and not c["ok"]]
    assert [c["params"]["text"] for c in failed] == ["first", "second"]


async def test_get_chat_member_reports_the_status_a_test_set(
    api: FakeBotApi, app: Application
) -> None:
    ann, bo = api.user(1001, "Ann"), api.user(2002, "Bo")
    api.send_message("hi", user=ann, chat_id=-300, chat_type="group")
    api.send_message("hi", user=bo, chat_id=-300, chat_type="group")
    api.set_member_status(-300, 2002, "administrator")
    member = await app.bot.get_chat_member(-300, 1001)
    assert member.status == "member" and member.user.first_name == "Ann"
    admin = await app.bot.get_chat_member(-300, 2002)
    assert admin.status == "administrator" and admin.can_delete_messages
    api.set_member_status(-300, 1001, "creator")
    assert (await app.bot.get_chat_member(-300, 1001)).status == "creator"
    with pytest.raises(BadRequest, match=r"(?i)user not found"):
        await app.bot.get_chat_member(-300, 999)
    with pytest.raises(ValueError, match="unsupported status"):
        api.set_member_status(-300, 1001, "owner")


async def test_messages_on_behalf_of_a_chat_and_inline_button_presses(
    api: FakeBotApi, app: Application
) -> None:
    group = {"id": -300, "type": "group", "title": "Test group"}
    anonymous = api.send_message("hello", chat_id=-300, chat_type="group", sender_chat=group)
    assert anonymous["from"]["id"] == 1087968824 and anonymous["sender_chat"]["id"] == -300
    channel = api.channel(-1002000000005, "News")
    posted = api.send_message("hi", chat_id=-300, chat_type="group", sender_chat=channel)
    assert posted["from"]["username"] == "Channel_Bot"
    await api.wait_for_call("sendMessage", lambda p: p["text"] == "echo: hi", since=0)
    assert [m["text"] for m in api.bot_messages(-300)] == ["echo: hello", "echo: hi"]
    query_id = api.press_inline_button("AAQ-inline-1", "pick:max")
    await api.wait_for_call("answerCallbackQuery", timeout=5)
    # the tiny bot's handler edits "the message": with only inline_message_id that is an inline
    # edit, recorded as such
    assert api.callback_answers[query_id]["text"] == "Saved Max!"
    assert api.inline_message_edits[-1]["inline_message_id"] == "AAQ-inline-1"


async def test_send_document_records_bytes(api: FakeBotApi, app: Application) -> None:
    api.send_message("/file")
    reply = await api.wait_for_reply(USER_ID, since=0, timeout=5)
    assert reply["document"].filename == "names.txt"
    [document] = api.documents
    assert document["filename"] == "names.txt"
    assert document["content"] == b"Serena\nMax\n"
    assert document["caption"] == "Your names"
    [message] = api.bot_messages(USER_ID)
    assert message["document"]["file_size"] == len(b"Serena\nMax\n")


async def test_inline_query_answer_recorded(api: FakeBotApi, app: Application) -> None:
    query_id = api.inline_query("cats")
    await api.wait_for_call("answerInlineQuery", timeout=5)
    [result] = api.inline_answers[query_id]["results"]
    assert result["title"] == "Name for cats"
    assert result["input_message_content"]["message_text"] == "Serena (cats)"


async def test_commands_and_menu_button_are_stored(api: FakeBotApi, app: Application) -> None:
    from telegram import BotCommand, BotCommandScopeAllPrivateChats, MenuButtonCommands

    bot = app.bot
    await bot.set_my_commands([BotCommand("start", "Begin")])
    await bot.set_my_commands(
        [BotCommand("start", "Начать")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="ru",
    )
    assert api.get_commands() == [{"command": "start", "description": "Begin"}]
    ru = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.description for c in ru] == ["Начать"]
    assert await bot.get_my_commands(language_code="de") == ()
    await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    assert api.menu_buttons[None] == {"type": "commands"}
    await bot.delete_my_commands()
    assert api.get_commands() == []


async def test_unknown_method_is_404(api: FakeBotApi, app: Application) -> None:
    from telegram.error import EndPointNotFound

    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("noSuchMethod")


async def test_shutdown_is_quick(api: FakeBotApi) -> None:
    """Stopping mid long-poll must not wait for the poll timeout, nor must the server."""
    application = build_app(api.token, api.base_url)
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=30)
    await application.start()
    await asyncio.sleep(0.3)  # a getUpdates is now parked on the server
    started = time.monotonic()
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    await api.stop()
    assert time.monotonic() - started < 3


async def test_handled_returns_once_every_update_is_handled(
    api: FakeBotApi, app: Application
) -> None:
    """tests/quiet.py: what a negative test waits for instead of a pause."""
    api.stall("sendMessage", 0.5)  # the first reply's handler is still waiting for it
    since = api.mark()
    for text in ("one", "two", "three"):
        api.send_message(text)
    await handled(api, app)
    sent = [c["params"]["text"] for c in api.calls[since:] if c["method"] == "sendMessage"]
    assert sent == ["echo: one", "echo: two", "echo: three"]
    assert app.update_queue.empty()


def test_parse_formatted_text_offsets_are_utf16() -> None:
    text, entities = parse_formatted_text("⭐ <b>😀x</b> &lt;3", "HTML")
    assert text == "⭐ 😀x <3"
    assert entities == [{"type": "bold", "offset": 2, "length": 3}]
    text, entities = parse_formatted_text('<a href="https://e.x">site</a> <code>a_b</code>', "html")
    assert text == "site a_b"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://e.x"},
        {"type": "code", "offset": 5, "length": 3},
    ]


async def test_terminal_chat_transcript() -> None:
    script = [
        "hello",
        "/start",
        "/press 1",
        "/edit hello again",
        "/inline cats",
        "/file",
        "/press 9",
        "/quit",
        "never sent",
    ]

    async def lines() -> AsyncIterator[str]:
        for line in script:
            yield line

    out = io.StringIO()
    await asyncio.wait_for(
        run_terminal_chat(build_app, lines=lines(), out=out, quiet_period=0.1, reply_timeout=5),
        timeout=15,
    )
    transcript = out.getvalue()
    assert "/press N" in transcript  # banner
    assert "bot> echo: hello" in transcript
    assert "bot> Pick a name:" in transcript
    assert "[1] ⭐ Serena  [2] Max" in transcript
    assert "You picked Serena" in transcript
    assert "bot [toast]> Saved Serena!" in transcript
    assert "bot> edited: hello again" in transcript
    assert "[1] Name for cats — Serena (cats)" in transcript
    assert "[document names.txt, 11 bytes]" in transcript
    assert "(no message with buttons yet)" not in transcript
    assert "usage: /press N" in transcript
    assert "never sent" not in transcript
    assert transcript.rstrip().endswith("bye")
