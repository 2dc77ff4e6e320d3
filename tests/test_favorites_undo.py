"""🗑 on /favorites offers ↩ Undo for a few seconds; a stray tap never loses a saved name
(issue 12 item 10). End to end over the fake API, with the real database."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.handlers.favorites import UNDO_SECONDS_KEY, undo_job_name
from tests.conftest import BotRunner, say
from tests.test_favorites import (
    ANN,
    ask_names,
    buttons,
    exact_button,
    favorites_of,
    listed_names,
    names_in,
    press,
    until,
)


async def save_three(api: FakeBotApi) -> tuple[dict[str, Any], list[str]]:
    """Save the first three names of a /name answer; (the answer, names newest first)."""
    answer = await ask_names(api)
    names = names_in(answer["text"])[:3]
    for name in names:
        star = exact_button(api, answer, f"⭐ {name}")
        await press(api, answer, star, wait_for="editMessageReplyMarkup")
    return answer, names[::-1]


async def favorites_list(api: FakeBotApi) -> dict[str, Any]:
    await say(api, "/favorites")
    return api.bot_messages(ANN)[-1]


def current(api: FakeBotApi, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in api.bot_messages(ANN) if m["message_id"] == message["message_id"])


async def remove(api: FakeBotApi, listing: dict[str, Any], name: str) -> dict[str, Any]:
    """Press 🗑 next to ``name``; returns the list message as it looks afterwards."""
    answer = await press(
        api, listing, exact_button(api, listing, f"🗑 {name}"), wait_for="editMessageText"
    )
    assert not answer.get("show_alert") and name in answer["text"]
    return current(api, listing)


async def test_undo_brings_a_removed_name_back_in_its_place(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bot.bot_data[UNDO_SECONDS_KEY] = 3
    _, newest_first = await save_three(api)
    listing = await favorites_list(api)
    victim = newest_first[1]

    removed = await remove(api, listing, victim)
    assert removed["text"].startswith(f"🗑 Removed {victim} · ↩ Undo (3 s)")
    assert listed_names(removed["text"]) == [newest_first[0], newest_first[2]]
    assert "(2)" in removed["text"]  # the count leaves it out too
    assert buttons(removed)[0]["text"] == f"↩ Undo: {victim}"
    assert victim in favorites_of(database_url, ANN)  # nothing is deleted yet

    answer = await press(
        api, removed, exact_button(api, removed, f"↩ Undo: {victim}"), wait_for="editMessageText"
    )
    assert answer["text"] == f"↩ {victim} is back in your favourites."
    restored = current(api, listing)
    assert listed_names(restored["text"]) == newest_first  # same place: newest first
    assert not any(b["text"].startswith("↩") for b in buttons(restored))

    # the undo stopped the window's timer: nothing will happen to the name or the list later
    assert bot.job_queue is not None
    assert not bot.job_queue.get_jobs_by_name(undo_job_name(ANN, listing["message_id"]))
    assert sorted(favorites_of(database_url, ANN)) == sorted(newest_first)
    assert current(api, listing)["text"] == restored["text"]


async def test_when_the_window_closes_the_name_is_gone_and_undo_is_too_late(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bot.bot_data[UNDO_SECONDS_KEY] = 0.5
    _, newest_first = await save_three(api)
    listing = await favorites_list(api)
    victim = newest_first[0]
    removed = await remove(api, listing, victim)
    undo = exact_button(api, removed, f"↩ Undo: {victim}")

    await until(lambda: victim not in favorites_of(database_url, ANN))
    await until(lambda: not current(api, listing)["text"].startswith("🗑"))
    after = current(api, listing)  # the plain list again, without the undo button
    assert listed_names(after["text"]) == newest_first[1:]
    assert not any(b["text"].startswith("↩") for b in buttons(after))

    late = await press(api, after, undo, wait_for="answerCallbackQuery", forged=True)
    assert late.get("show_alert") and "Too late" in late["text"]
    assert victim not in favorites_of(database_url, ANN)


async def test_a_stray_tap_loses_nothing_even_if_the_bot_restarts(
    api: FakeBotApi, bot_runner: BotRunner, database_url: str
) -> None:
    async with bot_runner() as app:
        app.bot_data[UNDO_SECONDS_KEY] = 60
        _, newest_first = await save_three(api)
        listing = await favorites_list(api)
        removed = await remove(api, listing, newest_first[2])
    # stopped inside the undo window: the name is still saved, and still removed (the
    # database says so, not the process), so the bot that comes back can still undo it
    assert sorted(favorites_of(database_url, ANN)) == sorted(newest_first)
    async with bot_runner() as app:
        app.bot_data[UNDO_SECONDS_KEY] = 60
        assert listed_names(await say(api, "/favorites")) == newest_first[:2]
        undo = exact_button(api, removed, f"↩ Undo: {newest_first[2]}")  # the old button
        answer = await press(api, removed, undo, wait_for="editMessageText")
        assert not answer.get("show_alert") and "is back" in answer["text"]
        assert listed_names(current(api, listing)["text"]) == newest_first
        assert listed_names(await say(api, "/favorites")) == newest_first


async def test_only_the_owner_can_undo_and_a_new_star_brings_it_back(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bot.bot_data[UNDO_SECONDS_KEY] = 1
    answer, newest_first = await save_three(api)
    listing = await favorites_list(api)
    victim = newest_first[0]
    removed = await remove(api, listing, victim)
    undo = exact_button(api, removed, f"↩ Undo: {victim}")

    stranger = api.user(2002, "Bo")
    refused = await press(
        api, removed, undo, wait_for="answerCallbackQuery", user=stranger, forged=True
    )
    assert refused.get("show_alert")
    assert victim not in listed_names(current(api, listing)["text"])

    # ⭐ on the name again inside the window: saved, and the closing window keeps it
    star = exact_button(api, answer, f"✅ {victim}")
    saved = await press(api, answer, star, wait_for="answerCallbackQuery")
    assert "Saved" in saved["text"]
    assert victim in listed_names(await say(api, "/favorites"))
    await until(lambda: not current(api, listing)["text"].startswith("🗑"))
    assert victim in favorites_of(database_url, ANN)


async def test_russian_undo(api: FakeBotApi, bot: Application) -> None:
    ru = api.user(ANN, "Аня", language_code="ru")
    await say(api, "/language ru", user=ru)
    await say(api, "/style en", user=ru)
    _, newest_first = await save_three(api)
    listing = await favorites_list(api)
    removed = await remove(api, listing, newest_first[0])
    assert removed["text"].startswith(f"🗑 Имя {newest_first[0]} удалено · ↩ Вернуть (10 с)")
    assert buttons(removed)[0]["text"] == f"↩ Вернуть {newest_first[0]}"
