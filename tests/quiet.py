"""Knowing that the bot has finished, so that "it did not answer" is a fact, not a guess.

A test that waits a second or two and sees no reply proves little: a slow machine answers
later, and a test that cannot fail passes either way. ``handled`` returns once the bot has
fetched every update sent so far and finished handling each one (its handlers and the error
handler have returned), so what it has not sent by then it will not send for those updates.
"""

from __future__ import annotations

import asyncio

from telegram.ext import Application

from bot.fake_api import FakeBotApi


async def handled(api: FakeBotApi, app: Application, timeout: float = 20.0) -> None:
    """Return once ``app`` has fetched and fully handled every update ``api`` holds."""
    await api.wait_fetched(timeout=timeout)
    await asyncio.wait_for(app.update_queue.join(), timeout)
