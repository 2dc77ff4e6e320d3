"""Webhook mode end to end: real HTTP into the bot's server, the real Application, a real
database, and the fake Bot API for what the bot sends (issue 14 §2, §4).

Updates are made by the fake (``api.send_message`` …) and taken from its queue with
``api.take_updates()``, then posted to the bot the way Telegram posts them: one JSON update per
request, with the secret in ``X-Telegram-Bot-Api-Secret-Token``. ``two_instances`` runs two
Applications on one database, as two processes behind a proxy would.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url
from telegram.ext import Application

from bot.app import Models, build_application
from bot.config import Settings
from bot.fake_api import FakeBotApi
from bot.runner import serve
from bot.webhook import ALLOWED_UPDATES, SECRET_HEADER, BotHttpServer, webhook_serving
from tests.conftest import say
from tests.dbutil import _admin, rows, text
from tests.quiet import handled
from tests.test_favorites import exact_button, names_in
from tests.test_run_and_storage import REAL_LOOKING_TOKEN, clean_env

SECRET = "s3cret-Token_for-tests"
WEBHOOK_URL = "https://bot.example.org/telegram"
MAX_CONNECTIONS = 7
ANN = 1001


def webhook_settings(api: FakeBotApi, database_url: str) -> Settings:
    return Settings(
        token=api.token,
        api_base_url=api.base_url,
        database_url=database_url,
        mode="webhook",
        webhook_url=WEBHOOK_URL,
        webhook_secret=SECRET,
        webhook_max_connections=MAX_CONNECTIONS,
    )


@dataclass
class Answer:
    status: int
    text: str


async def post_json(
    port: int, payload: Any, secret: str | None = SECRET, path: str = "/telegram"
) -> Answer:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}{path}", json=payload, headers=headers) as response,
    ):
        return Answer(response.status, await response.text())


async def get(port: int, path: str) -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return Answer(response.status, await response.text())


def one_update(api: FakeBotApi) -> dict[str, Any]:
    [update] = api.take_updates()
    return update


@pytest.fixture
async def server(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> AsyncIterator[BotHttpServer]:
    app = build_application(webhook_settings(api, database_url), shipped_models)
    async with webhook_serving(app, webhook_settings(api, database_url), port=0) as running:
        yield running


async def test_set_webhook_at_start_up_and_get_updates_is_then_refused(
    api: FakeBotApi, server: BotHttpServer
) -> None:
    assert api.webhook is not None
    assert api.webhook["url"] == WEBHOOK_URL
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["max_connections"] == MAX_CONNECTIONS
    assert api.webhook["allowed_updates"] == ALLOWED_UPDATES
    assert {"message", "callback_query", "inline_query"} <= set(ALLOWED_UPDATES)
    # as Telegram does: no long polling while a webhook is set
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.base_url}{api.token}/getUpdates") as response,
    ):
        assert response.status == 409
        assert "webhook is active" in (await response.json())["description"]


@pytest.mark.parametrize("secret", [None, "wrong-secret", SECRET + "x", ""])
async def test_without_the_right_secret_403_and_nothing_happens(
    api: FakeBotApi, server: BotHttpServer, database_url: str, secret: str | None
) -> None:
    api.send_message("/name Ma")
    update = one_update(api)
    since = api.mark()
    answer = await post_json(server.port, update, secret=secret)
    assert answer.status == 403
    await asyncio.sleep(0.2)  # nothing runs in the background either: there is no queue
    assert api.calls[since:] == []
    assert rows(database_url, "SELECT prefix FROM name_generations") == []
    assert (
        'namecraft_webhook_rejected_total{reason="forbidden"} 1.0'
        in (await get(server.port, "/metrics")).text
    )


async def test_an_update_is_answered_200_only_after_the_reply_was_sent(
    api: FakeBotApi, server: BotHttpServer, database_url: str
) -> None:
    api.send_message("/name Ma")
    since = api.mark()
    answer = await post_json(server.port, one_update(api))
    assert answer.status == 200
    # no waiting: by the time Telegram has its 200, the reply is out and the answer stored
    sent = [c for c in api.calls[since:] if c["method"] == "sendMessage" and c["ok"]]
    assert len(sent) == 1 and "Ma" in sent[0]["params"]["text"]
    assert rows(database_url, "SELECT prefix FROM name_generations") == [("Ma",)]


async def test_a_post_that_is_not_an_update_is_400(api: FakeBotApi, server: BotHttpServer) -> None:
    since = api.mark()
    assert (await post_json(server.port, ["not", "an", "update"])).status == 400
    assert (await post_json(server.port, "text")).status == 400
    assert api.calls[since:] == []


async def test_update_text_is_cleaned_as_in_polling(api: FakeBotApi, server: BotHttpServer) -> None:
    """bot/sanitize.py cleans webhook updates too: a zero-width space inside the prefix goes."""
    api.send_message("/name M\u200ba")
    since = api.mark()
    assert (await post_json(server.port, one_update(api))).status == 200
    [sent] = [c for c in api.calls[since:] if c["method"] == "sendMessage"]
    assert "“Ma”" in sent["params"]["text"] and "\u200b" not in sent["params"]["text"]


async def test_metrics_count_updates_by_type_and_time_handlers_and_inference(
    api: FakeBotApi, server: BotHttpServer
) -> None:
    api.send_message("/name Ser")
    assert (await post_json(server.port, one_update(api))).status == 200
    message = api.bot_messages(ANN)[-1]
    api.press_button(message, exact_button(api, message, f"⭐ {names_in(message['text'])[0]}"))
    assert (await post_json(server.port, one_update(api))).status == 200
    api.send_message("/help")
    assert (await post_json(server.port, one_update(api))).status == 200

    page = await get(server.port, "/metrics")
    assert page.status == 200
    body = page.text
    assert 'namecraft_updates_total{outcome="ok",type="message"} 2.0' in body
    assert 'namecraft_updates_total{outcome="ok",type="callback_query"} 1.0' in body
    assert 'namecraft_updates_total{outcome="ok",type="inline_query"} 0.0' in body
    assert 'namecraft_handler_seconds_count{type="message"} 2.0' in body
    assert re.search(r'namecraft_handler_seconds_bucket\{le="0\.005",type="message"\} \d', body)
    assert 'namecraft_inference_seconds_count{kind="sample_names"} 1.0' in body
    assert "namecraft_inference_queue_depth 0.0" in body
    assert "namecraft_errors_total" in body


async def test_healthz_is_200_while_the_database_answers_and_503_when_it_does_not(
    server: BotHttpServer, database_url: str
) -> None:
    assert await get(server.port, "/healthz") == Answer(200, "ok")
    async with database_outage(server.app, database_url):
        answer = await get(server.port, "/healthz")
        assert answer.status == 503 and "database" in answer.text
    assert (await get(server.port, "/healthz")).status == 200


async def test_database_outage_is_a_500_so_telegram_sends_the_update_again(
    api: FakeBotApi, server: BotHttpServer, database_url: str
) -> None:
    """The redelivery design: no apology while the database is away (the user would get two
    answers), a 500 for Telegram; the same update posted again later gets the real answer."""
    api.send_message("/start")
    update = one_update(api)
    async with database_outage(server.app, database_url):
        since = api.mark()
        answer = await post_json(server.port, update)
        assert answer.status == 500
        assert [c for c in api.calls[since:] if c["method"] == "sendMessage"] == []
    since = api.mark()
    assert (await post_json(server.port, update)).status == 200
    [sent] = [c for c in api.calls[since:] if c["method"] == "sendMessage"]
    assert "Namecraft" in sent["params"]["text"]
    body = (await get(server.port, "/metrics")).text
    assert 'namecraft_updates_total{outcome="redeliver",type="message"} 1.0' in body


async def test_a_handler_bug_gets_the_apology_and_a_200(
    api: FakeBotApi, server: BotHttpServer
) -> None:
    """A failure that is not the database's would fail again on every redelivery: the user
    gets the usual apology once and Telegram a 200."""
    api.fail("sendMessage", times=1)  # the /help reply fails (not a network error)
    api.send_message("/help")
    since = api.mark()
    assert (await post_json(server.port, one_update(api))).status == 200
    sent = [c for c in api.calls[since:] if c["method"] == "sendMessage"]
    assert [c["ok"] for c in sent] == [False, True]  # the failed reply, then the apology
    body = (await get(server.port, "/metrics")).text
    assert 'namecraft_updates_total{outcome="error",type="message"} 1.0' in body
    assert 'namecraft_errors_total{error="BadRequest"} 1.0' in body


async def test_messages_of_one_chat_are_handled_in_arrival_order(
    api: FakeBotApi, server: BotHttpServer
) -> None:
    prefixes = ["Ab", "Ca", "Da", "El", "Fe"]
    updates = []
    for prefix in prefixes:
        api.send_message(f"/name {prefix}")
        updates.append(one_update(api))
    since = api.mark()
    posts = []
    for update in updates:  # all in flight at once, started in order
        posts.append(asyncio.create_task(post_json(server.port, update)))
        await asyncio.sleep(0.01)
    assert [answer.status for answer in await asyncio.gather(*posts)] == [200] * 5
    sent = [c["params"]["text"] for c in api.calls[since:] if c["method"] == "sendMessage"]
    order = [next(p for p in prefixes if f"“{p}”" in body) for body in sent]
    assert order == prefixes


async def test_stopping_finishes_and_answers_the_updates_in_flight(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """What SIGTERM does (bot/webhook.py serve_webhook → BotHttpServer.stop): the port
    closes at once, but an update already being handled is finished and answered 200."""
    settings = webhook_settings(api, database_url)
    async with webhook_serving(build_application(settings, shipped_models), settings, port=0) as (
        server
    ):
        api.stall("sendMessage", 1.0)  # the reply is sent, its confirmation comes 1 s late
        api.send_message("/help")
        since = api.mark()
        posting = asyncio.create_task(post_json(server.port, one_update(api)))
        await api.wait_for_call("sendMessage", since=since)
        stopping = asyncio.create_task(server.stop())
        await asyncio.sleep(0.2)
        assert not posting.done()  # still in flight
        assert await get_or_none(server.port, "/healthz") is None  # no new connections
        answer = await asyncio.wait_for(posting, 10)
        await asyncio.wait_for(stopping, 10)
    assert answer.status == 200


# ---- a database outage, for real ------------------------------------------------------------


@asynccontextmanager
async def database_outage(app: Application, database_url: str) -> AsyncIterator[None]:
    """The database stops accepting connections while inside, and comes back after.

    SQLite: the file is moved away and a folder takes its place (nothing can open it; the
    bot's pooled connections are closed first). PostgreSQL: the database refuses new
    connections and the bot's open ones are terminated.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        await app.bot_data["database"].dispose()
        path = Path(url.database or "")
        moved = path.with_name(path.name + ".away")
        path.rename(moved)
        path.mkdir()
        try:
            yield
        finally:
            path.rmdir()
            moved.rename(path)
        return
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    name = url.database
    await _admin(
        admin,
        text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'),
        text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    )
    try:
        yield
    finally:
        await _admin(admin, text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


# ---- two instances on one database ------------------------------------------------------------


@dataclass
class Instances:
    """N webhook instances of the bot on one database, one fake Bot API for all of them."""

    api: FakeBotApi
    servers: list[BotHttpServer]

    async def post(self, index: int, update: dict[str, Any]) -> Answer:
        """Post ``update`` to instance ``index`` (what a proxy in front of them would do)."""
        return await post_json(self.servers[index].port, update)

    async def say(self, index: int, text: str, **kwargs: Any) -> dict[str, Any]:
        """A user sends ``text``; instance ``index`` handles it; the bot's reply (its params)."""
        since = self.api.mark()
        message = self.api.send_message(text, **kwargs)
        assert (await self.post(index, one_update(self.api))).status == 200
        return await self.api.wait_for_reply(message["chat"]["id"], since=since, timeout=5)

    async def press(self, index: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """Press a button; instance ``index`` handles the press; the toast's params."""
        query_id = self.api.press_button(message, data)
        assert (await self.post(index, one_update(self.api))).status == 200
        return self.api.callback_answers[query_id]


@pytest.fixture
async def two_instances(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> AsyncIterator[Instances]:
    settings = webhook_settings(api, database_url)
    first = build_application(settings, shipped_models)
    second = build_application(settings, shipped_models)
    async with (
        webhook_serving(first, settings, port=0) as one,
        webhook_serving(second, settings, port=0) as two,
    ):
        yield Instances(api, [one, two])


async def test_favourites_saved_through_either_instance_are_listed_by_either(
    two_instances: Instances, database_url: str
) -> None:
    saved = []
    for turn, prefix in enumerate(["Ser", "Mar", "Ann", "Jo"]):
        await two_instances.say(turn % 2, f"/name {prefix}")
        message = two_instances.api.bot_messages(ANN)[-1]
        name = names_in(message["text"])[0]
        toast = await two_instances.press(
            (turn + 1) % 2, message, exact_button(two_instances.api, message, f"⭐ {name}")
        )
        assert name in toast["text"] and not toast.get("show_alert")
        saved.append(name)
    for index in (0, 1):
        listing = await two_instances.say(index, "/favorites")
        assert all(name in listing["text"] for name in saved), (index, listing["text"])
    stored = rows(database_url, "SELECT name FROM favorites WHERE user_id = :u", u=ANN)
    assert sorted(r[0] for r in stored) == sorted(set(saved))


# ---- the real process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def no_webhook_env() -> Iterator[dict[str, str]]:
    yield {k: v for k, v in clean_env().items() if not k.startswith(("WEBHOOK_", "BOT_MODE"))}


async def test_python_m_bot_webhook_serves_and_stops_cleanly_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    async with FakeBotApi(token=REAL_LOOKING_TOKEN) as api:
        with no_webhook_env() as env:
            env.update(
                TELEGRAM_BOT_TOKEN=REAL_LOOKING_TOKEN,
                TELEGRAM_API_BASE_URL=api.base_url,
                DATABASE_URL=database_url,
                WEBHOOK_URL=f"https://bot.example.org/hook/{REAL_LOOKING_TOKEN}",
                WEBHOOK_SECRET=SECRET,
                WEBHOOK_PORT=str(port),
                LOG_LEVEL="DEBUG",
            )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "webhook",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(90):
                while (await get_or_none(port, "/healthz")) != Answer(200, "ok"):
                    assert process.returncode is None, "the bot exited"
                    await asyncio.sleep(0.2)
            assert api.webhook is not None and api.webhook["secret_token"] == SECRET
            api.send_message("/name Ser")
            since = api.mark()
            path = f"/hook/{REAL_LOOKING_TOKEN}"
            answer = await post_json(port, one_update(api), path=path)
            assert answer.status == 200
            assert any(c["method"] == "sendMessage" for c in api.calls[since:])
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
    log = output.decode()
    assert process.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert REAL_LOOKING_TOKEN not in log and REAL_LOOKING_TOKEN.split(":")[1] not in log
    assert SECRET not in log
    above_debug = [line for line in log.splitlines() if re.search(r" (INFO|WARNING|ERROR) ", line)]
    assert not [line for line in above_debug if "/name Ser" in line]  # user text: DEBUG only
    assert re.search(r"update \d+ message chat=1001 user=1001 ok [\d.]+ ms", log), log[-3000:]


async def test_webhook_mode_without_a_secret_refuses_to_start_in_one_line(
    tmp_path: Path,
) -> None:
    with no_webhook_env() as env:
        env.update(TELEGRAM_BOT_TOKEN=REAL_LOOKING_TOKEN, WEBHOOK_URL=WEBHOOK_URL)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "webhook",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "WEBHOOK_SECRET" in lines[0], lines


async def test_polling_mode_serves_metrics_and_healthz_on_metrics_port(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """METRICS_PORT in polling mode: the same /metrics and /healthz, fed by the update
    processor's lanes instead of the webhook route (which is not there)."""
    port = free_port()
    settings = Settings(
        token=api.token, api_base_url=api.base_url, database_url=database_url, metrics_port=port
    )
    app = build_application(settings, shipped_models)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(app, settings, stop))
    try:
        async with asyncio.timeout(30):
            while (await get_or_none(port, "/healthz")) != Answer(200, "ok"):
                assert not serving.done(), serving
                await asyncio.sleep(0.1)
        assert "“Ser”" in await say(api, "/name Ser")
        await handled(api, app)
        body = (await get(port, "/metrics")).text
        assert 'namecraft_updates_total{outcome="ok",type="message"} 1.0' in body
        assert 'namecraft_handler_seconds_count{type="message"} 1.0' in body
        assert 'namecraft_inference_seconds_count{kind="sample_names"} 1.0' in body
        assert (await post_json(port, {"update_id": 1})).status in (404, 405)  # no webhook route
    finally:
        stop.set()
        assert await asyncio.wait_for(serving, 30) == 0
    assert await get_or_none(port, "/healthz") is None  # closed with the bot


async def get_or_none(port: int, path: str) -> Answer | None:
    """``get``, or None while nothing listens there."""
    try:
        return await get(port, path)
    except aiohttp.ClientError:
        return None
