"""``python -m bot run``: long polling that rides out a missing or flaky network.

PTB's ``Application.run_polling`` gives up at start-up when the Bot API cannot be reached
(logging a traceback per exception in the chain, ~240 lines) and logs a traceback for every
failed poll later on. This runner goes through the same lifecycle (initialize, post_init,
polling, start, then stop, shutdown, post_shutdown) but turns each network failure into one
log line without a traceback and retries: at start-up with capped exponential backoff
(``retry_delays``), while polling with PTB's own growing pause (1 s × 1.5 up to 30 s).
SIGINT and SIGTERM stop it cleanly at any point, also while it waits to retry.
With METRICS_PORT set, ``/metrics`` and ``/healthz`` are served on that port as well
(``bot.webhook.BotHttpServer``). ``python -m bot webhook`` (BOT_MODE=webhook) goes through
``bot.webhook.serve_webhook`` instead, with the same connecting and stopping.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import suppress
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.app import Models, build_application
from bot.config import Settings
from bot.lifecycle import stop_application

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0
POLL_TIMEOUT_SECONDS = 10
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
INVALID_TOKEN_HELP = (
    "Telegram rejected TELEGRAM_BOT_TOKEN: copy the token again from @BotFather (/mybots → "
    "API Token) into the environment or .env."
)


def retry_delays(
    first: float = FIRST_RETRY_SECONDS, cap: float = MAX_RETRY_SECONDS
) -> Iterator[float]:
    """1, 2, 4, 8, … seconds, never more than ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def api_host(base_url: str) -> str:
    """Where the bot connects, for log lines: the host (and port) only, never a path."""
    return urlsplit(base_url).netloc or base_url


def describe(error: BaseException) -> str:
    """A network error in a few words: 'aiohttp.ClientConnectorError: Cannot connect to host …'."""
    return str(error).strip() or type(error).__name__


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` unless ``stop`` is set first; True when it was."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def connect(
    app: Application,
    host: str,
    stop: asyncio.Event,
    delays: Iterator[float] | None = None,
) -> bool:
    """``app.initialize()`` (its getMe is the first request) until it works or ``stop`` is set.

    Each failed attempt is one WARNING line. Returns False when stopped before connecting.
    InvalidToken is not a network problem and is raised at once.
    """
    delays = delays if delays is not None else retry_delays()
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            await app.initialize()
        except RetryAfter as error:
            delay = error.retry_after
            delay = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            log.warning(
                "The Telegram Bot API at %s asks to wait %g s (attempt %d)", host, delay, attempt
            )
        except InvalidToken:
            raise
        except TelegramError as error:  # NetworkError, TimedOut, a proxy's 502, …
            delay = next(delays)
            log.warning(
                "Cannot reach the Telegram Bot API at %s (%s); attempt %d failed, retrying in "
                "%g s. Check the network connection (or TELEGRAM_API_BASE_URL).",
                host,
                describe(error),
                attempt,
                delay,
            )
        else:
            if attempt > 1:
                log.info("Connected to the Telegram Bot API at %s", host)
            return True
        if await _stopped_within(stop, delay):
            break
    return False


async def serve(app: Application, settings: Settings, stop: asyncio.Event) -> int:
    """Run ``app`` until ``stop`` is set; 0 on a clean stop, 2 when the token is rejected."""
    host = api_host(settings.api_base_url)

    def polling_error(error: TelegramError) -> None:
        # PTB calls this for each failed getUpdates and then retries after a growing pause.
        log.warning(
            "Lost the connection to the Telegram Bot API at %s (%s); polling again shortly",
            host,
            describe(error),
        )

    connected = False
    metrics_server = None
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
        assert app.updater is not None
        await app.updater.start_polling(
            timeout=POLL_TIMEOUT_SECONDS,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,  # deleteWebhook: retried quietly, like polling itself
            error_callback=polling_error,
        )
        await app.start()
        if settings.metrics_port:
            from bot.webhook import BotHttpServer  # it imports this module

            metrics_server = BotHttpServer(app, settings, webhook=False)
            await metrics_server.start(settings.webhook_listen, settings.metrics_port)
            log.info("/metrics and /healthz on %s:%d", settings.webhook_listen, metrics_server.port)
        await stop.wait()
        return 0
    finally:
        if metrics_server is not None:
            await metrics_server.stop()
        await stop_application(app, initialized=connected)


async def _main(settings: Settings, models: Models) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    if settings.mode == "webhook":
        from bot.webhook import serve_webhook

        run = serve_webhook
    else:
        run = serve
    try:
        return await run(build_application(settings, models), settings, stop)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def run_bot(settings: Settings, models: Models) -> int:
    """``python -m bot run`` (or ``webhook``): serve until SIGINT/SIGTERM; the exit code."""
    return asyncio.run(_main(settings, models))
