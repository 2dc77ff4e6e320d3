"""What the bot is doing, for Prometheus (``/metrics``) and for one log line per update.

Every update, however it arrives (long polling through ``bot.updates``, or the webhook server
in ``bot.webhook``), is handled inside ``observed``: it times the handling, counts the update
by type and outcome, and logs one line with the update id, its type, the chat id and the
duration (never the text, never the token). ``bot.handlers.basics.on_error`` reports failures
here (``handler_failed``), so a failure is counted once and the webhook server knows to answer
Telegram with an error when the failure is worth a redelivery (``Observation.redeliver``).

Each Application has a ``BotMetrics`` with a registry of its own, so several Applications in
one process (tests, the two-instance harness) never mix their numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update

__all__ = [
    "CONTENT_TYPE_LATEST",
    "METRICS_KEY",
    "BotMetrics",
    "Observation",
    "handler_failed",
    "observed",
    "storage_unavailable",
    "update_type",
]

log = logging.getLogger(__name__)

METRICS_KEY = "metrics"  # bot_data key of the Application's BotMetrics
UPDATE_TYPES = ("message", "edited_message", "callback_query", "inline_query")
# handler latency: from a few ms (a button) to seconds (a queued /name under load)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
INFERENCE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class BotMetrics:
    """The bot's Prometheus metrics, in a registry of their own (``exposition()``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "namecraft_updates",
            "Updates handled, by type (message, edited_message, callback_query, inline_query, "
            "other) and outcome (ok, error, redeliver)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "namecraft_handler_seconds",
            "Time from the start of handling an update to the end of its handlers",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.inference_seconds = Histogram(
            "namecraft_inference_seconds",
            "Time a model call took on an inference worker, by model kind",
            ["kind"],
            buckets=INFERENCE_BUCKETS,
            registry=self.registry,
        )
        self.inference_queue = Gauge(
            "namecraft_inference_queue_depth",
            "Model calls admitted and not yet answered (queued, batching or running)",
            registry=self.registry,
        )
        self.inference_refused = Counter(
            "namecraft_inference_refused",
            "Model calls refused because the inference queue was full",
            registry=self.registry,
        )
        self.errors = Counter(
            "namecraft_errors",
            "Failures that reached the error handler, by exception type",
            ["error"],
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "namecraft_webhook_rejected",
            "Webhook requests refused (wrong or missing secret, not an update)",
            ["reason"],
            registry=self.registry,
        )
        for kind in (*UPDATE_TYPES, "other"):  # every series exists from the start, at 0
            for outcome in ("ok", "error"):
                self.updates.labels(kind, outcome)

    def watch_inference(self, executor: Any) -> None:
        """Report ``executor``'s queue depth and the duration of each of its model calls."""
        self.inference_queue.set_function(lambda: executor.pending)
        executor.observer = self.inference_observed

    def inference_observed(self, kind: str, seconds: float) -> None:
        """``bot.inference``'s hook: one model call (or batch) of ``kind`` took ``seconds``."""
        if kind == "refused":
            self.inference_refused.inc()
        else:
            self.inference_seconds.labels(kind).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (``CONTENT_TYPE_LATEST``)."""
        return generate_latest(self.registry)


@dataclass
class Observation:
    """What became of one update while it was handled (set by ``handler_failed``)."""

    redelivery_possible: bool = False  # the webhook server: Telegram retries a non-2xx answer
    error: BaseException | None = None
    redeliver: bool = False  # the failure is worth Telegram sending the update again
    claimed: bool = False  # this delivery claimed the update's id (bot/instances.py)


_current: ContextVar[Observation | None] = ContextVar("namecraft_update", default=None)


def current_observation() -> Observation | None:
    """The delivery of the update being handled in this task, None outside ``observed``."""
    return _current.get()


def update_type(update: object) -> str:
    """``message``, ``edited_message``, ``callback_query``, ``inline_query`` or ``other``."""
    if isinstance(update, Update):
        for kind in UPDATE_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


# PostgreSQL error codes (SQLSTATE) of a server that cannot serve us *now*: connection
# exceptions (08…), too many connections / out of resources (53…), shut down or starting up
# (57P01-57P03), not accepting connections (55000), a lock or serialization conflict
# (55P03, 40001, 40P01) that the same statements survive on a second try.
TRANSIENT_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03", "55000", "55P03", "40001", "40P01")


def _sqlstate(error: DBAPIError) -> str:
    """The PostgreSQL SQLSTATE behind a SQLAlchemy error (asyncpg), '' when there is none."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return ""


def storage_unavailable(error: BaseException) -> bool:
    """The database could not be reached (connection refused or lost, server restarting or
    refusing connections, pool exhausted): the update itself is fine and the same handling
    can work later. A bug or a constraint violation is not this: sending the update again
    would only fail again."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout | ConnectionError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error.orig, OSError):
            return True
        return _sqlstate(error).startswith(TRANSIENT_SQLSTATES)
    return isinstance(error, OSError) and not isinstance(error, FileNotFoundError)


def handler_failed(error: BaseException | None, metrics: BotMetrics | None = None) -> bool:
    """Count a failure that reached the error handler (an update's or a job's) and, for an
    update, note it; True when the caller should leave the user alone because the update
    will come again (webhook mode, database unreachable): the answer comes then, and an
    apology now would be a second answer to one message."""
    if metrics is not None:
        metrics.errors.labels(type(error).__name__).inc()
    observation = _current.get()
    if observation is None:  # a job (game timer, pruning), not an update
        return False
    observation.error = error
    if error is not None and observation.redelivery_possible and storage_unavailable(error):
        observation.redeliver = True
    return observation.redeliver


async def observed(
    metrics: BotMetrics | None,
    update: object,
    handling: Awaitable[Any],
    *,
    redelivery_possible: bool = False,
    observation: Observation | None = None,
) -> Observation:
    """Await ``handling`` (the Application handling ``update``) and account for it: metrics,
    one log line. An exception that escapes ``handling`` is re-raised after it is counted
    (pass ``observation`` to read what became of the update then)."""
    observation = observation or Observation(redelivery_possible=redelivery_possible)
    token = _current.set(observation)
    kind = update_type(update)
    started = time.perf_counter()
    try:
        await handling
    except BaseException as error:
        observation.error = error
        raise
    finally:
        _current.reset(token)
        seconds = time.perf_counter() - started
        outcome = (
            "redeliver"
            if observation.redeliver
            else ("error" if observation.error is not None else "ok")
        )
        if metrics is not None:
            metrics.updates.labels(kind, outcome).inc()
            metrics.handler_seconds.labels(kind).observe(seconds)
        log_update(update, kind, outcome, seconds)
    return observation


def log_update(update: object, kind: str, outcome: str, seconds: float) -> None:
    """One line per update, ids only: ``update 17 message chat=1001 ok 12.3 ms``."""
    update_id = getattr(update, "update_id", None)
    chat = getattr(update, "effective_chat", None)
    user = getattr(update, "effective_user", None)
    level = logging.WARNING if outcome != "ok" else logging.INFO
    log.log(
        level,
        "update %s %s chat=%s user=%s %s %.1f ms",
        update_id,
        kind,
        chat.id if chat is not None else "-",
        user.id if user is not None else "-",
        outcome,
        seconds * 1000,
        extra={
            "update_id": update_id,
            "update_type": kind,
            "chat_id": chat.id if chat is not None else None,
            "outcome": outcome,
            "duration_ms": round(seconds * 1000, 1),
        },
    )
