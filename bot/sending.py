"""Bot API calls that ride out a flaky network without ever sending an answer twice.

PTB retries nothing but 429s (through the rate limiter), so a 502 from Telegram's front end,
a dropped connection or a timeout used to cost the user the answer, and then the apology
failed too. ``RetryingRequest`` is the HTTP layer the bot's calls go through (not
``getUpdates``, which the updater already retries); it retries a failed call with backoff
when retrying cannot double its effect:

* the request surely never reached Telegram (connection refused or reset while connecting,
  connect or pool timeout: ``bot.http.NOT_SENT``): any method is retried;
* Telegram answered 5xx (its front end failed; the method did not run): any method;
* the outcome is unknown (read or write timeout, connection lost after sending): only methods
  that are safe to repeat (edits, deletions, callback answers, reads, settings). A ``send*``,
  ``forward*`` or ``copy*`` may already have arrived, so it is not repeated; the error
  handler then does not apologise either, since the answer most likely arrived (see
  ``bot.handlers.basics.on_error``). When the repeat of such a call is refused with a 400
  ("message is not modified", "query is too old"), the first attempt did its work: the
  original timeout is raised, not the refusal.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import NetworkError, TimedOut

from bot.http import NOT_SENT, AiohttpRequest

log = logging.getLogger(__name__)

# Delays before the 2nd, 3rd, … attempt, in seconds: a blip passes, and a user waits at most
# a few seconds more for an answer that would otherwise never come.
RETRY_DELAYS = (0.5, 1.5, 4.0)
# methods whose effect a repeat cannot double (prefixes of Bot API method names, lower case)
REPEATABLE = ("get", "edit", "delete", "answer", "set", "pin", "unpin", "leave", "ban", "unban")


def method_of(url: str) -> str:
    """``https://api.telegram.org/bot<token>/sendMessage`` → ``sendmessage``."""
    return url.rstrip("/").rsplit("/", 1)[-1].lower()


def may_repeat(method: str, error: Exception) -> bool:
    """Whether a call that failed with ``error`` can be sent again without doubling it."""
    if isinstance(error.__cause__, NOT_SENT):
        return True
    return method.startswith(REPEATABLE)


class RetryingRequest(AiohttpRequest):
    """``AiohttpRequest`` that retries what can safely be retried (see the module docstring)."""

    def __init__(self, *args: Any, retry_delays: tuple[float, ...] = RETRY_DELAYS, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.retry_delays = retry_delays

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        api_method = method_of(url)
        unknown_outcome: Exception | None = None  # an earlier attempt may have done the work
        for delay in (*self.retry_delays, None):
            try:
                code, payload = await super().do_request(url, method, *args, **kwargs)
            except (TimedOut, NetworkError) as error:
                if delay is None or not may_repeat(api_method, error):
                    raise
                if not isinstance(error.__cause__, NOT_SENT):
                    unknown_outcome = error
                log.warning(
                    "%s failed (%s), retrying in %.1f s", api_method, type(error).__name__, delay
                )
            else:
                if unknown_outcome is not None and 400 <= code < 500:
                    raise unknown_outcome  # the repeat was refused as a duplicate
                if code < 500 or delay is None:
                    return code, payload
                log.warning("%s got HTTP %d, retrying in %.1f s", api_method, code, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")
