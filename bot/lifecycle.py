"""Stopping an Application the way PTB's ``run_polling`` does, from the bot's own loops.

``python -m bot run`` (bot/runner.py), the terminal chat (bot/chat.py) and the end-to-end
tests (``bot.app.polling``) each run an Application inside an event loop of their own, so
they stop it themselves: all three do it here.
"""

from __future__ import annotations

from telegram.ext import Application


async def stop_application(app: Application, *, initialized: bool = True) -> None:
    """Updater, Application, ``post_stop``, shutdown, ``post_shutdown``, in run_polling's order;
    each step only if it is running, so one that failed to start does not fail the rest.

    ``initialized=False``: ``initialize()`` never finished (the Bot API was never reached), so
    only the HTTP clients it opened are closed.
    """
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    if initialized:
        await app.shutdown()
    else:
        await app.bot.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
