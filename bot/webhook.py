"""``python -m bot webhook``: Telegram posts updates to this bot's own HTTP server.

One small aiohttp app per Application (``BotHttpServer``):

* ``POST <WEBHOOK_URL's path>`` (``/telegram`` by default) takes one update. A request without
  Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header, or with a wrong one, gets 403 and
  nothing is parsed or handled. The update is handled *before* the answer goes back, so a 200
  means it was handled; an instance that dies meanwhile never answers and Telegram sends the
  update again (to whichever instance the proxy picks). What counts as a failure worth a
  redelivery: the database could not be reached (``bot.metrics.storage_unavailable``); the
  answer is then 500 and the user gets no apology, since the real answer comes with the
  redelivery. Any other handler failure is a bug that a redelivery would only repeat: the
  user gets the usual apology and Telegram a 200.
* At most ``WEBHOOK_MAX_CONNECTIONS`` updates are handled at once (what setWebhook tells
  Telegram to open), and messages of one chat are handled one after another in the order
  they arrived (a lock per chat); button presses and inline queries skip the chat's queue,
  as they have a lane of their own in polling mode (``bot.updates``).
* ``GET /healthz``: 200 when the Application is running and the database answers
  ``SELECT 1``, else 503 (a load balancer stops sending updates to it).
* ``GET /metrics``: the Application's Prometheus metrics (``bot.metrics``).

In polling mode the same server without the webhook route serves ``/metrics`` and
``/healthz`` when METRICS_PORT is set (``bot.runner``).

At start-up: connect (getMe, retried while the network is away, as polling does), migrate,
start, listen, then ``setWebhook`` (url, secret, max_connections, allowed_updates), retried the
same way. SIGTERM/SIGINT: /healthz turns 503, the listening socket closes, updates in flight are
finished and answered, then the Application stops. The webhook is left set on purpose: other
instances may still be serving it, and Telegram keeps updates queued while none is.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.instances import end_claim
from bot.lifecycle import stop_application
from bot.metrics import CONTENT_TYPE_LATEST, METRICS_KEY, BotMetrics, Observation, observed
from bot.runner import (
    INVALID_TOKEN_HELP,
    _stopped_within,
    api_host,
    connect,
    describe,
    retry_delays,
)
from bot.sanitize import clean_payload
from bot.updates import is_quick

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The update types register_handlers has handlers for; Telegram sends no others.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "inline_query"]
HEALTH_CHECK_SECONDS = 5.0
SHUTDOWN_SECONDS = 30.0  # how long a stopping instance waits for updates in flight


class BotHttpServer:
    """The webhook route (when ``webhook``), ``/healthz`` and ``/metrics`` for one app."""

    def __init__(self, app: Application, settings: Settings, *, webhook: bool = True) -> None:
        self.app = app
        self.webhook = webhook
        self.path = settings.webhook_path
        self._secret = settings.webhook_secret.encode()
        if webhook and not self._secret:
            raise ValueError("webhook mode needs WEBHOOK_SECRET")
        self._slots = asyncio.Semaphore(settings.webhook_max_connections)
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_users: dict[int, int] = {}
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: web.AppRunner | None = None
        self.ready = False  # set once start-up is complete; cleared when stopping
        self.port = 0

    @property
    def metrics(self) -> BotMetrics | None:
        return self.app.bot_data.get(METRICS_KEY)

    def web_app(self) -> web.Application:
        routes = [web.get("/healthz", self.healthz), web.get("/metrics", self.metrics_page)]
        if self.webhook:
            routes.append(web.post(self.path, self.receive))
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        web_app.add_routes(routes)
        return web_app

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (0: a free port, then in ``self.port``)."""
        self._runner = web.AppRunner(
            self.web_app(), access_log=None, shutdown_timeout=SHUTDOWN_SECONDS
        )
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in flight (answering them), close."""
        self.ready = False
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        for site in list(runner.sites):
            await site.stop()  # no new connections from here on
        try:
            await asyncio.wait_for(self._idle.wait(), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("stopping with %d updates still in flight", self._in_flight)
        await runner.cleanup()

    # ---- routes -------------------------------------------------------------------------

    def _secret_ok(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        return given is not None and hmac.compare_digest(given.encode(), self._secret)

    def _rejected(self, reason: str, status: int) -> web.Response:
        if self.metrics is not None:
            self.metrics.webhook_rejected.labels(reason).inc()
        return web.Response(status=status, text=reason)

    async def receive(self, request: web.Request) -> web.Response:
        """One update from Telegram: 200 once handled, 500 when Telegram should send it again."""
        if not self._secret_ok(request):
            log.warning("refused a webhook request from %s: wrong or no secret", request.remote)
            return self._rejected("forbidden", 403)
        if not self.ready:  # starting or stopping: Telegram retries, maybe elsewhere
            return web.Response(status=503, text="not ready")
        try:
            payload = await request.json()
            if not isinstance(payload, dict):
                raise ValueError("not a JSON object")
            # the same cleaning polling applies to getUpdates answers (bot/sanitize.py)
            update = Update.de_json(clean_payload(payload), self.app.bot)
        except Exception:  # not an update: nothing that a redelivery would fix
            log.warning("refused a webhook request that is not an update")
            return self._rejected("not an update", 400)
        self._in_flight += 1
        self._idle.clear()
        observation = Observation(redelivery_possible=True)
        try:
            async with self._chat_turn(update), self._slots:
                await observed(
                    self.metrics, update, self.app.process_update(update), observation=observation
                )
                if observation.claimed:  # 200 finishes the claim, 500 hands it back
                    await end_claim(self.app, update, handled=not observation.redeliver)
        except Exception:
            log.exception("update %s could not be handled", update.update_id)
            if observation.claimed:
                await end_claim(self.app, update, handled=False)
            return web.Response(status=500, text="failed")
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
        if observation.redeliver:
            return web.Response(status=500, text="not handled yet, send it again")
        return web.Response(text="ok")

    @asynccontextmanager
    async def _chat_turn(self, update: Update) -> AsyncIterator[None]:
        """Messages of one chat one at a time, in arrival order (asyncio.Lock is FIFO)."""
        chat = update.effective_chat
        if chat is None or is_quick(update):
            yield
            return
        lock = self._chat_locks.setdefault(chat.id, asyncio.Lock())
        self._chat_users[chat.id] = self._chat_users.get(chat.id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._chat_users[chat.id] -= 1
            if not self._chat_users[chat.id]:  # idle chats leave nothing behind
                del self._chat_users[chat.id]
                del self._chat_locks[chat.id]

    async def healthz(self, request: web.Request) -> web.Response:
        """200 "ok" when running and the database answers; 503 with the reason otherwise."""
        if not self.app.running or (self.webhook and not self.ready):
            return web.Response(status=503, text="not running")
        try:
            async with asyncio.timeout(HEALTH_CHECK_SECONDS):
                await self.app.bot_data["database"].ping()
        except Exception as error:
            log.warning("health check: the database does not answer (%s)", type(error).__name__)
            return web.Response(status=503, text="database unreachable")
        return web.Response(text="ok")

    async def metrics_page(self, request: web.Request) -> web.Response:
        metrics = self.metrics
        body = metrics.exposition() if metrics is not None else b""
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def register_webhook(
    app: Application, settings: Settings, stop: asyncio.Event | None = None
) -> bool:
    """``setWebhook`` until it works; one WARNING line per failed attempt, like start-up.

    False when ``stop`` was set first. Telegram refusing the URL (BadRequest, e.g. not https)
    and InvalidToken are not network problems and are raised at once.
    """
    stop = stop or asyncio.Event()
    host = api_host(settings.api_base_url)
    delays = retry_delays()
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            await app.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                max_connections=settings.webhook_max_connections,
                allowed_updates=ALLOWED_UPDATES,
            )
        except RetryAfter as error:
            delay: Any = error.retry_after
            delay = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            log.warning("setWebhook: the Bot API asks to wait %g s (attempt %d)", delay, attempt)
        except (InvalidToken, BadRequest):
            raise
        except TelegramError as error:
            delay = next(delays)
            log.warning(
                "Cannot set the webhook at the Telegram Bot API at %s (%s); attempt %d failed, "
                "retrying in %g s.",
                host,
                describe(error),
                attempt,
                delay,
            )
        else:
            return True
        if await _stopped_within(stop, delay):
            break
    return False


@asynccontextmanager
async def webhook_serving(
    app: Application, settings: Settings, *, port: int | None = None
) -> AsyncIterator[BotHttpServer]:
    """Run ``app`` in webhook mode inside the current event loop (tests; like ``polling``):
    start-up, listen on WEBHOOK_LISTEN:``port`` (default WEBHOOK_PORT), setWebhook."""
    server = BotHttpServer(app, settings)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        await server.start(settings.webhook_listen, settings.webhook_port if port is None else port)
        await register_webhook(app, settings)
        server.ready = True
        yield server
    finally:
        await server.stop()
        await stop_application(app)


async def serve_webhook(app: Application, settings: Settings, stop: asyncio.Event) -> int:
    """Run ``app`` in webhook mode until ``stop`` is set; the process's exit code."""
    host = api_host(settings.api_base_url)
    server = BotHttpServer(app, settings)
    connected = False
    try:
        try:
            connected = await connect(app, host, stop)
        except InvalidToken:
            log.error(INVALID_TOKEN_HELP)
            return 2
        if not connected:
            return 0
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        try:
            await server.start(settings.webhook_listen, settings.webhook_port)
        except OSError as error:
            log.error(
                "Cannot listen on %s:%d (%s): check WEBHOOK_LISTEN and WEBHOOK_PORT.",
                settings.webhook_listen,
                settings.webhook_port,
                describe(error),
            )
            return 2
        try:
            if not await register_webhook(app, settings, stop):
                return 0
        except BadRequest as error:
            log.error("Telegram refused WEBHOOK_URL: %s", describe(error))
            return 2
        except InvalidToken:
            log.error(INVALID_TOKEN_HELP)
            return 2
        server.ready = True
        log.info(
            "webhook mode: listening on %s:%d%s for updates posted to %s",
            settings.webhook_listen,
            server.port,
            server.path,
            settings.webhook_url,
        )
        await stop.wait()
        log.info("stopping: finishing the updates in flight")
        return 0
    finally:
        await server.stop()
        await stop_application(app, initialized=connected)
