"""The aiohttp Bot API client (bot/http.py) over real HTTP against the fake Bot API: PTB's
timeouts and their per-call overrides, failures that never sent a request (retried by
``RetryingRequest``), multipart uploads, and the session's life cycle."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import time
from collections.abc import Iterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.fake_api import FakeBotApi
from bot.http import NOT_SENT, AiohttpRequest, client_timeout
from bot.sending import RetryingRequest, may_repeat


def free_port() -> int:
    """A port nothing listens on once the probe is closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listener never accepts and whose backlog is full: connecting hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):  # in the backlog, never accepted
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        try:
            yield port
        finally:
            for filler in fillers:
                filler.close()


def chat_of(api: FakeBotApi) -> int:
    return api.send_message("hi")["chat"]["id"]


async def test_read_timeout_default_and_per_call_override(api: FakeBotApi) -> None:
    chat = chat_of(api)
    async with Bot(api.token, base_url=api.base_url, request=AiohttpRequest(read_timeout=2)) as bot:
        api.stall("sendMessage", 0.4)
        await bot.send_message(chat, "within the default")  # 0.4 s < 2 s
        api.stall("sendMessage", 1.0)
        started = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            await bot.send_message(chat, "too slow for this call", read_timeout=0.2)
        assert time.monotonic() - started < 0.9
    # the call arrived: its outcome is unknown, so a send must not be repeated
    assert isinstance(raised.value.__cause__, aiohttp.ServerTimeoutError)
    assert not isinstance(raised.value.__cause__, NOT_SENT)
    assert not may_repeat("sendmessage", raised.value)


async def test_a_long_poll_outlasts_the_read_timeout(api: FakeBotApi) -> None:
    """PTB adds getUpdates' ``timeout`` to the read timeout; the poll is not cut short."""
    async with Bot(
        api.token, base_url=api.base_url, request=AiohttpRequest(read_timeout=0.3)
    ) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9


async def test_connect_timeout_means_not_sent(unanswered_port: int) -> None:
    request = AiohttpRequest(connect_timeout=0.3)
    async with request:
        started = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            await request.post(f"http://127.0.0.1:{unanswered_port}/bot1:x/sendMessage")
        assert time.monotonic() - started < 2
    assert isinstance(raised.value.__cause__, NOT_SENT)
    assert may_repeat("sendmessage", raised.value)  # never sent: even a send may be repeated


async def test_pool_timeout_means_not_sent_and_the_send_is_retried_once(api: FakeBotApi) -> None:
    """One connection, held by a stalled call: the next send times out waiting for it, which
    sent nothing, so it is retried, and arrives exactly once. (aiohttp gives the wait for a
    pooled connection and a new connection one budget, pool + connect: see client_timeout.)"""
    chat = chat_of(api)
    request = RetryingRequest(
        connection_pool_size=1, pool_timeout=0.1, connect_timeout=0.1, retry_delays=(0.5, 1.0)
    )
    async with Bot(api.token, base_url=api.base_url, request=request) as bot:
        api.stall("sendMessage", 0.8, when=lambda params: params.get("text") == "slow")
        slow = asyncio.create_task(bot.send_message(chat, "slow"))
        await asyncio.sleep(0.2)  # "slow" holds the only connection now
        await bot.send_message(chat, "waited for the pool")
        await slow
    texts = [c["params"]["text"] for c in api.calls if c["method"] == "sendMessage"]
    assert texts == ["slow", "waited for the pool"]


async def test_pool_timeout_raises_timed_out_caused_by_aiohttp(api: FakeBotApi) -> None:
    chat = chat_of(api)
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1, connect_timeout=0.1)
    async with Bot(api.token, base_url=api.base_url, request=request) as bot:
        api.stall("sendMessage", 1.0)
        slow = asyncio.create_task(bot.send_message(chat, "slow"))
        await asyncio.sleep(0.2)
        with pytest.raises(TimedOut) as raised:
            await bot.send_message(chat, "no connection for me")
        await slow
    assert isinstance(raised.value.__cause__, aiohttp.ConnectionTimeoutError)
    assert [c["params"]["text"] for c in api.calls if c["method"] == "sendMessage"] == ["slow"]


async def test_a_refused_connection_is_retried_until_the_server_is_up() -> None:
    """Nothing listens yet: each refused attempt sent nothing, so even a send is retried,
    and once the server is up the message arrives exactly once."""
    port = free_port()
    api = FakeBotApi(port=port)
    chat = chat_of(api)  # the user's side needs no server
    message = RequestData(
        [RequestParameter("chat_id", chat, None), RequestParameter("text", "hello", None)]
    )
    async with RetryingRequest(retry_delays=(0.3, 0.6, 1.2)) as request:
        sending = asyncio.create_task(
            request.post(f"http://127.0.0.1:{port}/bot{api.token}/sendMessage", message)
        )
        await asyncio.sleep(0.1)  # the first attempt was refused by now
        await api.start()
        try:
            sent = await sending
        finally:
            await api.stop()
    assert sent["text"] == "hello"
    assert [c["params"]["text"] for c in api.calls if c["method"] == "sendMessage"] == ["hello"]


async def test_a_refused_connection_is_network_error_caused_by_aiohttp() -> None:
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{free_port()}/bot1:x/getMe")
    assert isinstance(raised.value.__cause__, aiohttp.ClientConnectorError)
    assert "aiohttp.ClientConnectorError" in str(raised.value)


async def test_multipart_upload_with_fields(api: FakeBotApi) -> None:
    chat = chat_of(api)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
    content = "name,style\nЁлка,ru\n".encode()
    async with Bot(api.token, base_url=api.base_url, request=AiohttpRequest()) as bot:
        first = await bot.send_document(
            chat,
            InputFile(io.BytesIO(content), filename="избранное.csv"),
            caption="<b>your</b> favourites",
            parse_mode="HTML",
            reply_markup=markup,
        )
        second = await bot.send_document(chat, content, filename="again.csv")
    assert first.document.file_name == "избранное.csv"
    assert first.caption == "your favourites" and first.caption_entities[0].type == "bold"
    assert first.reply_markup == markup
    assert second.document.file_size == len(content)
    assert [(d["filename"], d["content"]) for d in api.documents] == [
        ("избранное.csv", content),
        ("again.csv", content),
    ]
    assert api.documents[0]["mime_type"] == "text/csv"


async def test_session_life_cycle(api: FakeBotApi) -> None:
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{api.base_url}{api.token}/getMe")
    for _ in range(2):  # PTB may initialise a request again after shutting it down
        await request.initialize()
        me = await request.post(f"{api.base_url}{api.token}/getMe")
        assert me["username"] == api.bot_username
        await request.shutdown()
    await request.shutdown()  # twice is harmless
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{api.base_url}{api.token}/getMe")


def test_timeouts_in_aiohttp_terms() -> None:
    timeout = client_timeout(read=5, write=5, connect=3, pool=1)
    assert (timeout.sock_read, timeout.sock_connect, timeout.connect) == (5, 3, 4)
    assert timeout.total == 14  # bounds a stalled write, which aiohttp has no limit for
    unlimited = client_timeout(read=None, write=5, connect=None, pool=1)
    assert unlimited.sock_read is None and unlimited.connect is None and unlimited.total is None


async def test_the_environment_proxy_is_used(
    api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY names the fake API, so a call to a host that does not exist reaches it
    (as a proxied request); NO_PROXY exempts a host."""
    origin = api.base_url.removesuffix("/bot")
    monkeypatch.setenv("HTTP_PROXY", origin)
    monkeypatch.setenv("NO_PROXY", "nowhere.invalid")
    async with AiohttpRequest(connect_timeout=1) as request:
        me = await request.post(f"http://no-such-host.invalid/bot{api.token}/getMe")
        assert me["username"] == api.bot_username
        with pytest.raises(NetworkError, match=r"ClientConnectorDNSError|Cannot connect"):
            await request.post(f"http://nowhere.invalid/bot{api.token}/getMe")
