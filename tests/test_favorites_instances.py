"""🗑 and ↩ on /favorites with two bot instances on one database (issue 14): the undo window
is the database's, so whichever instance a press reaches, the answer is the same, and an
undo is never followed by the deletion it undid. SQLite and PostgreSQL.

Both instances run as webhook instances do (no updater), and each update is handed to the
instance the test picks, as a load balancer would; that is also how a ↩ pressed on a list
one instance showed ends up on the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application

from bot.app import Models
from bot.fake_api import FakeBotApi
from bot.handlers.favorites import SWEEP_SECONDS_KEY, UNDO_SECONDS_KEY, undo_job_name
from tests.dbutil import rows
from tests.test_favorites import exact_button, favorites_of, listed_names, names_in, until
from tests.test_instances import application, deliver, last_update, without_polling

ANN = 1001
WINDOW = 2.0  # seconds of undo: short, so the tests see windows close
WINDOWS = {UNDO_SECONDS_KEY: WINDOW, SWEEP_SECONDS_KEY: 0.2}


@asynccontextmanager
async def instances(
    api: FakeBotApi, database_url: str, models: Models, window: float = WINDOW
) -> AsyncIterator[tuple[Application, Application]]:
    windows = {**WINDOWS, UNDO_SECONDS_KEY: window}
    async with (
        without_polling(application(api, database_url, models, **windows)) as one,
        without_polling(application(api, database_url, models, **windows)) as two,
    ):
        yield one, two


async def say(api: FakeBotApi, app: Application, text: str) -> dict[str, Any]:
    """Ann sends ``text`` and ``app`` handles it; the bot's last message to her, as stored."""
    api.send_message(text)
    await deliver(app, last_update(api))
    return api.bot_messages(ANN)[-1]


async def press(
    api: FakeBotApi,
    app: Application,
    message: dict[str, Any],
    data: str,
    **kwargs: Any,
) -> dict[str, Any]:
    """A button of ``message`` pressed, handled by ``app``; the toast or alert."""
    query_id = api.press_button(message, data, **kwargs)
    await deliver(app, last_update(api))
    return api.callback_answers[query_id]


def current(api: FakeBotApi, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in api.bot_messages(ANN) if m["message_id"] == message["message_id"])


async def save_three(api: FakeBotApi, app: Application) -> list[str]:
    """Three names of a /name answer saved through ``app``; newest first."""
    answer = await say(api, app, "/name Ser")
    names = names_in(answer["text"])[:3]
    for name in names:
        toast = await press(api, app, answer, exact_button(api, answer, f"⭐ {name}"))
        assert "Saved" in toast["text"]
    return names[::-1]


async def remove(
    api: FakeBotApi, app: Application, listing: dict[str, Any], name: str
) -> dict[str, Any]:
    """🗑 next to ``name``, handled by ``app``; the list message afterwards."""
    toast = await press(api, app, listing, exact_button(api, listing, f"🗑 {name}"))
    assert not toast.get("show_alert") and name in toast["text"]
    removed = current(api, listing)
    assert removed["text"].startswith(f"🗑 Removed {name} · ↩ Undo")
    return removed


def removed_at(database_url: str, name: str) -> list[Any]:
    return [
        r[0]
        for r in rows(
            database_url,
            "SELECT removed_at FROM favorites WHERE user_id = :u AND name = :n",
            u=ANN,
            n=name,
        )
    ]


async def windows_closed(app: Application) -> None:
    """Until ``app`` has no undo timer left, and a window and a few sweeps more."""
    assert app.job_queue is not None
    await until(lambda: not any(j.name.startswith("favundo:") for j in app.job_queue.jobs()))
    await asyncio.sleep(WINDOW + 0.5)


async def test_undo_through_the_other_instance_keeps_the_name_for_good(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    async with instances(api, database_url, shipped_models) as (one, two):
        newest_first = await save_three(api, one)
        listing = await say(api, one, "/favorites")
        victim = newest_first[1]
        removed = await remove(api, one, listing, victim)
        assert one.job_queue is not None
        assert one.job_queue.get_jobs_by_name(undo_job_name(ANN, listing["message_id"]))

        undo = exact_button(api, removed, f"↩ Undo: {victim}")
        toast = await press(api, two, removed, undo)
        assert toast["text"] == f"↩ {victim} is back in your favourites."
        assert listed_names(current(api, listing)["text"]) == newest_first

        # the first instance's timer fires and both sweep: the name stays
        await windows_closed(one)
        assert removed_at(database_url, victim) == [None]
        assert listed_names(current(api, listing)["text"]) == newest_first
        for app in (one, two):
            assert listed_names((await say(api, app, "/favorites"))["text"]) == newest_first


async def test_a_removal_is_seen_by_the_other_instance_and_goes_through_without_the_first(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """The instance that showed the list stops inside the window: the other leaves the name
    out at once and its sweep deletes it when the window is over."""
    async with without_polling(application(api, database_url, shipped_models, **WINDOWS)) as two:
        async with without_polling(
            application(api, database_url, shipped_models, **WINDOWS)
        ) as one:
            newest_first = await save_three(api, one)
            listing = await say(api, one, "/favorites")
            victim = newest_first[0]
            await remove(api, one, listing, victim)
            other = await say(api, two, "/favorites")
            assert listed_names(other["text"]) == newest_first[1:]
            assert "(2)" in other["text"]  # the count leaves it out too
        assert victim in favorites_of(database_url, ANN)  # not deleted yet: undo still possible
        await until(lambda: victim not in favorites_of(database_url, ANN), timeout=WINDOW + 5)
        assert sorted(favorites_of(database_url, ANN)) == sorted(newest_first[1:])


async def test_a_strangers_undo_is_refused_and_a_new_star_elsewhere_keeps_the_name(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    async with instances(api, database_url, shipped_models) as (one, two):
        answer = await say(api, one, "/name Ser")
        name = names_in(answer["text"])[0]
        await press(api, one, answer, exact_button(api, answer, f"⭐ {name}"))
        listing = await say(api, one, "/favorites")
        removed = await remove(api, one, listing, name)
        undo = exact_button(api, removed, f"↩ Undo: {name}")

        stranger = api.user(2002, "Bo")
        refused = await press(api, two, removed, undo, user=stranger, forged=True)
        assert refused.get("show_alert")
        assert removed_at(database_url, name) != [None]  # still removed
        assert name not in listed_names((await say(api, two, "/favorites"))["text"])

        # ⭐ on the same name, through the other instance, inside the window: saved again
        saved = await press(api, two, answer, exact_button(api, answer, f"✅ {name}"))
        assert "Saved" in saved["text"] and not saved.get("show_alert")
        await windows_closed(one)
        assert favorites_of(database_url, ANN) == [name]
        assert removed_at(database_url, name) == [None]
        assert listed_names((await say(api, one, "/favorites"))["text"]) == [name]


async def test_an_undo_offered_by_the_other_instance_stays_until_its_own_window_ends(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    """🗑 X through one instance, then 🗑 Y on the same list through the other: when X's
    window ends, the first instance must not take Y's ↩ away by refreshing the list; the
    other instance's timer does that when Y's window ends. (A longer window: Y's must still
    be open, by a margin, when the test looks after X's has closed.)"""
    window = 2 * WINDOW
    async with instances(api, database_url, shipped_models, window) as (one, two):
        newest_first = await save_three(api, one)
        listing = await say(api, one, "/favorites")
        first, second = newest_first[0], newest_first[2]
        removed = await remove(api, one, listing, first)
        await asyncio.sleep(window / 2)
        await remove(api, two, removed, second)

        await until(lambda: first not in favorites_of(database_url, ANN))  # X's timer fired
        await asyncio.sleep(0.3)  # time enough for that timer to have edited the list
        offer = current(api, listing)
        assert offer["text"].startswith(f"🗑 Removed {second} · ↩ Undo")

        await until(lambda: second not in favorites_of(database_url, ANN))
        await until(lambda: not current(api, listing)["text"].startswith("🗑"))
        assert listed_names(current(api, listing)["text"]) == [newest_first[1]]
