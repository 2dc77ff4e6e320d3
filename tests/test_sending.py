"""Bot API calls retried when that cannot double them (bot/sending.py), against the fake API."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import Application

from bot.app import Models, build_application, polling
from bot.config import Settings
from bot.fake_api import FakeBotApi
from bot.sending import RetryingRequest, may_repeat, method_of
from tests.quiet import handled

FAST = (0.01, 0.02, 0.03)


def bot_for(api: FakeBotApi, base_url: str | None = None, read_timeout: float = 5.0) -> Bot:
    return Bot(
        api.token,
        base_url=base_url or api.base_url,
        request=RetryingRequest(retry_delays=FAST, read_timeout=read_timeout),
    )


def calls(api: FakeBotApi, method: str) -> list[dict]:
    return [c for c in api.calls if c["method"] == method]


async def test_5xx_is_retried_and_the_message_is_sent_once(api: FakeBotApi) -> None:
    chat = api.send_message("hi")["chat"]["id"]
    api.fail("sendMessage", "Bad Gateway", error_code=502, times=2)
    async with bot_for(api) as bot:
        await bot.send_message(chat, "answer")
    sent = calls(api, "sendMessage")
    assert [c["ok"] for c in sent] == [False, False, True]
    assert sent[-1]["params"]["text"] == "answer"


async def test_a_send_whose_response_timed_out_is_not_repeated(api: FakeBotApi) -> None:
    chat = api.send_message("hi")["chat"]["id"]
    api.stall("sendMessage", 1.0)
    async with bot_for(api, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(chat, "answer")
    # it did arrive; a retry would have sent it twice
    assert [c["params"]["text"] for c in calls(api, "sendMessage")] == ["answer"]


async def test_a_timed_out_edit_is_repeated(api: FakeBotApi) -> None:
    chat = api.send_message("hi")["chat"]["id"]
    async with bot_for(api, read_timeout=0.2) as bot:
        sent = await bot.send_message(chat, "first")
        api.stall("editMessageText", 1.0)
        # the repeat is refused ("not modified": the first call did it), so the caller learns
        # of the timeout, not of a refusal it could mistake for a failure
        with pytest.raises(TimedOut):
            await bot.edit_message_text("second", chat_id=chat, message_id=sent.message_id)
    edits = calls(api, "editMessageText")
    assert len(edits) == 2 and edits[0]["ok"] and not edits[1]["ok"]
    assert "not modified" in edits[1]["error"]


async def test_a_client_error_is_not_retried(api: FakeBotApi) -> None:
    chat = api.send_message("hi")["chat"]["id"]
    api.fail("sendMessage", "Bad Request: chat not found", error_code=400, times=5)
    async with bot_for(api) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(chat, "answer")
    assert len(calls(api, "sendMessage")) == 1


async def test_a_refused_connection_is_retried_then_reported(
    api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level("WARNING", logger="bot.sending")
    request = RetryingRequest(retry_delays=FAST)
    await request.initialize()
    try:
        with pytest.raises(NetworkError):  # never reached a server: even a send is repeated
            await request.post(f"http://127.0.0.1:{port}/bot{api.token}/sendMessage")
    finally:
        await request.shutdown()
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == len(FAST)


def test_which_failures_may_be_repeated() -> None:
    assert method_of("http://x/bot123:abc/sendMessage") == "sendmessage"
    unknown = TimedOut()
    assert not may_repeat("sendmessage", unknown)
    assert may_repeat("editmessagetext", unknown) and may_repeat("answercallbackquery", unknown)
    try:
        raise TimedOut() from aiohttp.ConnectionTimeoutError("no route")
    except TimedOut as never_sent:
        assert may_repeat("sendmessage", never_sent)


async def test_the_bot_answers_once_through_5xx_and_a_lost_confirmation(
    api: FakeBotApi, bot: Application
) -> None:
    """Issue 11's fault run: 502s cost nothing, and an answer whose confirmation timed out is
    neither repeated nor followed by "something went wrong"."""
    is_answer = lambda params: "/name" not in str(params.get("text", ""))  # noqa: E731
    api.fail("sendMessage", "Bad Gateway", error_code=502, times=2, when=is_answer)
    since = api.mark()
    api.send_message("/name Ser")
    reply = await api.wait_for_reply(api.user()["id"], since=since, timeout=15)
    assert "Ser" in reply["text"]
    api.stall("sendMessage", 5.5)  # past the client's 5 s read timeout; the call did happen
    since = api.mark()
    api.send_message("/name Jo")
    await handled(api, bot)  # through the 5 s timeout and the error handler
    answers = [c for c in api.calls[since:] if c["method"] == "sendMessage" and c["ok"]]
    assert len(answers) == 1 and "Jo" in answers[0]["params"]["text"]


async def test_button_answers_do_not_queue_behind_rate_limited_replies(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """At 4 messages a second, 40 users' answers take ten seconds to go out, and their
    handlers wait for the limiter meanwhile, more of them than there are message slots; a
    button press must not wait for a free slot behind them. With PTB's one pool of 16 it was
    answered only after 25 of the replies had gone; it is counted in replies, not seconds, so
    a busy machine does not change the verdict."""
    settings = Settings(
        token=api.token,
        api_base_url=api.base_url,
        database_url=database_url,
        bot_rate_limit=4.0,
    )
    async with polling(build_application(settings, shipped_models)):
        first = api.send_message("/name Ser")
        await api.wait_for_reply(first["chat"]["id"], timeout=10)
        answer = api.bot_messages(first["chat"]["id"])[-1]
        since = api.mark()
        for user_id in range(3001, 3041):
            api.send_message("/name Jo", user=api.user(user_id, "U"))
        await asyncio.sleep(0.5)
        api.press_button(answer, "no-such-button", forged=True)
        await api.wait_for_call("answerCallbackQuery", since=since, timeout=30)
        methods = [c["method"] for c in api.calls[since:]]
        replies_before = methods[: methods.index("answerCallbackQuery")].count("sendMessage")
        assert replies_before <= 12, replies_before
