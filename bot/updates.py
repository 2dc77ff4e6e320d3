"""Two lanes for updates, so a bot that is busy answering stays quick to press.

PTB runs at most N updates at once. A handler that is waiting for the send limiter (30
messages a second) or for the inference queue holds its slot all the while; with one shared
pool of slots, a burst of /name and reviews used to make button presses and inline queries
wait for a free slot behind them (issue 11: 332 ms p50 for presses with only 10 busy chats).
Here messages and commands get ``messages`` slots, and button presses and inline queries get
``quick`` slots of their own: their answers (toasts, inline results) are not messages, so the
send limiter never holds them, and nothing else can take their lane.

Each update is handled inside ``bot.metrics.observed``: counted, timed and logged in one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.metrics import BotMetrics, observed

MESSAGE_SLOTS = 32
QUICK_SLOTS = 32


def is_quick(update: object) -> bool:
    """Button presses and inline queries: short handlers a user is actively waiting on."""
    return isinstance(update, Update) and (
        update.callback_query is not None
        or update.inline_query is not None
        or update.chosen_inline_result is not None
    )


class TwoLaneUpdateProcessor(BaseUpdateProcessor):
    """``messages`` slots for messages and commands, ``quick`` for presses and inline."""

    def __init__(
        self,
        messages: int = MESSAGE_SLOTS,
        quick: int = QUICK_SLOTS,
        metrics: BotMetrics | None = None,
    ) -> None:
        super().__init__(messages + quick)
        self.metrics = metrics
        self._lanes = {
            False: asyncio.BoundedSemaphore(messages),
            True: asyncio.BoundedSemaphore(quick),
        }

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with self._lanes[is_quick(update)]:
            await self.do_process_update(update, coroutine)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await observed(self.metrics, update, coroutine)

    async def initialize(self) -> None:
        """Nothing to set up: the lanes are plain semaphores."""

    async def shutdown(self) -> None:
        """Nothing to release."""
