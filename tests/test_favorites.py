"""⭐ favourites, 🔄 More, /favorites with 🗑 and paging, /export: end to end over the fake API."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram.ext import Application

from bot.db.favorites import FavoriteRecord
from bot.fake_api import FakeBotApi
from bot.handlers.favorites import PRUNE_EVERY, UNDO_SECONDS_KEY
from bot.services.favorites import export_csv
from tests.conftest import say
from tests.dbutil import execute, rows, stored_time
from tests.quiet import handled

NAME_LINE = re.compile(r"^(✨|📖) (.+)$", re.M)
ANN = 1001


def names_in(text: str) -> list[str]:
    return [m.group(2) for m in NAME_LINE.finditer(text)]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def exact_button(api: FakeBotApi, message: dict[str, Any], text: str) -> str:
    """callback_data of the button labelled exactly ``text`` (find_button matches substrings,
    and "⭐ Seron" is inside "⭐ Serona")."""
    current = next(
        m
        for m in api.bot_messages(message["chat"]["id"])
        if m["message_id"] == message["message_id"]
    )
    matches = [b["callback_data"] for b in buttons(current) if b["text"] == text]
    assert len(matches) == 1, (text, buttons(current))
    return matches[0]


async def ask_names(
    api: FakeBotApi, text: str = "/name Ser", chat_id: int = ANN, **kwargs: Any
) -> dict[str, Any]:
    """Send /name and return the bot's answer as it is stored (text + buttons)."""
    since = api.mark()
    api.send_message(text, chat_id=None if chat_id > 0 else chat_id, **kwargs)
    await api.wait_for_reply(chat_id, since=since)
    return api.bot_messages(chat_id)[-1]


async def press(
    api: FakeBotApi, message: dict[str, Any], data: str, *, wait_for: str, **kwargs: Any
) -> dict[str, Any]:
    """Press a button, wait for the bot's ``wait_for`` call, return the callback answer."""
    since = api.mark()
    query_id = api.press_button(message, data, **kwargs)
    await api.wait_for_call("answerCallbackQuery", since=since)
    if wait_for != "answerCallbackQuery":
        await api.wait_for_call(wait_for, since=since)
    return api.callback_answers[query_id]


def favorites_of(database_url: str, user_id: int) -> list[str]:
    return [
        r[0]
        for r in rows(
            database_url, "SELECT name FROM favorites WHERE user_id = :u ORDER BY id", u=user_id
        )
    ]


async def test_name_answer_has_a_star_per_name_and_more(api: FakeBotApi, bot: object) -> None:
    message = await ask_names(api)
    names = names_in(message["text"])
    assert len(names) == 8
    stars = [b for b in buttons(message) if b["text"].startswith("⭐")]
    assert [b["text"] for b in stars] == [f"⭐ {n}" for n in names]
    assert all(re.fullmatch(r"fav:\d+:\d", b["callback_data"]) for b in stars)
    assert any(b["callback_data"].startswith("more:") for b in buttons(message))
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons(message))


async def test_save_turns_star_into_check_and_twice_is_harmless(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    message = await ask_names(api)
    name = names_in(message["text"])[2]
    data = exact_button(api, message, f"⭐ {name}")
    answer = await press(api, message, data, wait_for="editMessageReplyMarkup")
    assert not answer.get("show_alert") and name in answer["text"]
    now = api.bot_messages(ANN)[-1]
    assert exact_button(api, now, f"✅ {name}") == data
    assert sum(b["text"].startswith("✅") for b in buttons(now)) == 1
    assert now["text"] == message["text"]  # only the markup changed
    assert favorites_of(database_url, ANN) == [name]

    again = await press(api, now, data, wait_for="answerCallbackQuery")
    assert not again.get("show_alert") and "already" in again["text"]
    assert favorites_of(database_url, ANN) == [name]
    stored = rows(database_url, "SELECT style, prefix FROM favorites WHERE user_id = :u", u=ANN)
    assert stored == [("en", "Ser")]


async def test_in_a_group_the_presser_saves_to_their_own_list(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    ann, bo = api.user(ANN, "Ann"), api.user(2002, "Bo")
    message = await ask_names(api, "/name Mar", chat_id=-100, user=ann, chat_type="group")
    first = names_in(message["text"])[0]
    data = exact_button(api, message, f"⭐ {first}")
    since = api.mark()
    toast = await press(api, message, data, wait_for="answerCallbackQuery", user=bo)
    assert first in toast["text"] and not toast.get("show_alert")
    assert favorites_of(database_url, 2002) == [first]
    assert favorites_of(database_url, ANN) == []
    # Bo's save is his alone: the shared message still shows ⭐, not ✅, to everybody
    # (issue 12 item 6)
    assert not [c for c in api.calls[since:] if c["method"].startswith("editMessage")]
    assert exact_button(api, message, f"⭐ {first}") == data
    # Ann's own save marks her answer
    answer = await press(api, message, data, wait_for="editMessageReplyMarkup", user=ann)
    assert not answer.get("show_alert")
    assert favorites_of(database_url, ANN) == [first]
    assert exact_button(api, message, f"✅ {first}") == data


async def test_forged_and_stale_buttons_get_an_alert_and_change_nothing(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    mine = await ask_names(api)
    other_user = api.user(2002, "Bo")
    theirs = await ask_names(api, "/name Al", chat_id=2002, user=other_user)
    my_gen = int(api.find_button(mine, "⭐").split(":")[1])
    their_gen = int(api.find_button(theirs, "⭐").split(":")[1])
    forged = [
        f"fav:{their_gen}:0",  # a generation shown in another chat
        f"fav:{my_gen}:8",  # out of range (8 names: 0..7)
        f"fav:{my_gen}:999",
        f"fav:{my_gen + 1000}:0",  # unknown generation
        "fav:999999999999999999:0",  # past 32 bits: PostgreSQL must find nothing, not fail
        "more:999999999999999999",
        "favdel:999999999999999999:0",
        "fav:abc:0",
        "fav:1",
        f"fav:{my_gen}:0:0",
        "fav:-1:0",
        f"fav:{my_gen}:٣",  # non-ASCII digit
        f"fav:{my_gen}:0\n",  # the whole data must match, a trailing newline included
        f"more:{my_gen}\n",
        f"more:{their_gen}",
        "more:999999",
        "more:x",
        "favdel:x:0",
        "favpage:2002:0",  # someone else's list
        "favpage:1001:-1",
    ]
    for data in forged:
        answer = await press(api, mine, data, wait_for="answerCallbackQuery", forged=True)
        assert answer.get("show_alert"), data
    assert favorites_of(database_url, ANN) == []
    assert favorites_of(database_url, 2002) == []
    assert len(api.bot_messages(ANN)) == 1  # no More answer was sent
    assert buttons(api.bot_messages(ANN)[-1]) == buttons(mine)  # nothing turned ✅


async def test_more_sends_a_fresh_answer_with_the_same_prefix(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    await say(api, "/temp 1.4")
    first = await ask_names(api, "/name Ka")
    since = api.mark()
    api.press_button(first, api.find_button(first, "🔄"))
    await api.wait_for_reply(ANN, since=since)
    second = api.bot_messages(ANN)[-1]
    assert second["message_id"] != first["message_id"]
    names = names_in(second["text"])
    assert names and all(n.startswith("Ka") for n in names)
    assert "1.4" in second["text"]
    assert api.find_button(second, "🔄") != api.find_button(first, "🔄")
    gens = rows(database_url, "SELECT prefix, temperature, style FROM name_generations")
    assert gens == [("Ka", 1.4, "en"), ("Ka", 1.4, "en")]
    # the old answer's buttons still work next to the new one's
    await press(api, first, api.find_button(first, "⭐"), wait_for="editMessageReplyMarkup")
    await press(api, second, api.find_button(second, "⭐"), wait_for="editMessageReplyMarkup")
    assert set(favorites_of(database_url, ANN)) == {names_in(first["text"])[0], names[0]}


def listed_names(text: str) -> list[str]:
    return re.findall(r"^\d+\. (.+?) · ", text, re.M)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met")


async def wait_documents(api: FakeBotApi, count: int, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if len(api.documents) >= count:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{len(api.documents)} documents, expected {count}: {api.dump_calls()}")


async def save_all(api: FakeBotApi, message: dict[str, Any]) -> list[str]:
    saved = []
    for name in names_in(message["text"]):
        data = exact_button(api, message, f"⭐ {name}")
        answer = await press(api, message, data, wait_for="editMessageReplyMarkup")
        if "already" not in answer["text"]:
            saved.append(name)
    return saved


async def test_list_page_remove_and_export_round_trip(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bot.bot_data[UNDO_SECONDS_KEY] = 0.5
    assert "/name" in await say(api, "/favorites")  # empty: a hint
    since = api.mark()
    api.send_message("/export")
    reply = await api.wait_for_reply(ANN, since=since)
    assert "text" in reply and not api.documents  # no empty files

    saved = await save_all(api, await ask_names(api, "/name Ser"))
    saved += await save_all(api, await ask_names(api, "/name"))
    saved = list(dict.fromkeys(saved))
    assert len(saved) > 8
    assert favorites_of(database_url, ANN) == saved

    listing = await say(api, "/fav")
    page_one = api.bot_messages(ANN)[-1]
    assert "1 of 2" in listing and f"({len(saved)})" in listing
    newest_first = saved[::-1]
    assert listed_names(listing) == newest_first[:8]
    delete_buttons = [b for b in buttons(page_one) if b["text"].startswith("🗑")]
    assert len(delete_buttons) == 8
    assert all(re.fullmatch(r"favdel:\d+:0", b["callback_data"]) for b in delete_buttons)

    since = api.mark()
    api.press_button(page_one, api.find_button(page_one, "▶"))
    await api.wait_for_call("editMessageText", since=since)
    page_two = api.bot_messages(ANN)[-1]
    assert "2 of 2" in page_two["text"] and listed_names(page_two["text"]) == newest_first[8:]
    assert api.find_button(page_two, "◀")

    # remove the second newest name from page one of a fresh /favourites list
    await say(api, "/favourites")
    listing = api.bot_messages(ANN)[-1]
    victim = newest_first[1]
    answer = await press(
        api, listing, exact_button(api, listing, f"🗑 {victim}"), wait_for="editMessageText"
    )
    assert not answer.get("show_alert")
    after = api.bot_messages(ANN)[-1]
    assert victim in listed_names(listing["text"])
    assert victim not in listed_names(after["text"])
    remaining = [n for n in saved if n != victim]
    await until(lambda: favorites_of(database_url, ANN) == remaining)  # after the undo window

    api.send_message("/export")
    await wait_documents(api, 2)
    txt, table = api.documents[-2], api.documents[-1]
    assert txt["filename"].endswith(".txt") and table["filename"].endswith(".csv")
    assert txt["content"].decode("utf-8").splitlines() == remaining[::-1]
    assert table["content"].startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8
    parsed = list(csv.reader(io.StringIO(table["content"].decode("utf-8-sig"))))
    # the first four columns as they always were; kind and voice came with /phrase
    assert parsed[0] == ["name", "style", "prefix", "saved_at", "kind", "voice"]
    assert [r[0] for r in parsed[1:]] == remaining[::-1]
    assert {(r[4], r[5]) for r in parsed[1:]} == {("name", "")}
    assert {r[1] for r in parsed[1:]} == {"en"}
    assert {r[2] for r in parsed[1:]} == {"Ser", ""}
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r[3]) for r in parsed[1:])


async def test_someone_elses_favourite_cannot_be_deleted(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    bo = api.user(2002, "Bo")
    theirs = await ask_names(api, "/name Al", chat_id=2002, user=bo)
    await press(
        api, theirs, api.find_button(theirs, "⭐"), wait_for="editMessageReplyMarkup", user=bo
    )
    (their_id,) = rows(database_url, "SELECT id FROM favorites WHERE user_id = 2002")[0]
    mine = await ask_names(api)
    await press(api, mine, api.find_button(mine, "⭐"), wait_for="editMessageReplyMarkup")
    await say(api, "/favorites")
    listing = api.bot_messages(ANN)[-1]
    for data in (f"favdel:{their_id}:0", f"favdel:{their_id + 999}:0"):
        answer = await press(api, listing, data, wait_for="answerCallbackQuery", forged=True)
        assert answer.get("show_alert"), data
    assert len(favorites_of(database_url, 2002)) == 1
    assert len(favorites_of(database_url, ANN)) == 1
    assert api.bot_messages(ANN)[-1]["text"] == listing["text"]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_favourite_texts_exist_in_both_languages(
    api: FakeBotApi, bot: object, lang: str
) -> None:
    user = api.user(3003, "Lu", language_code=lang)
    text = await say(api, "/favorites", user=user)
    assert ("⭐" in text) and (("избранном" in text) if lang == "ru" else ("favourite" in text))


async def test_help_and_menus_list_the_new_commands(api: FakeBotApi, bot: object) -> None:
    new = ("/favorites", "/export", "/game", "/reveal", "/top")
    help_en = await say(api, "/help")
    help_ru = await say(api, "/help", user=api.user(2002, "Иван", language_code="ru"))
    for text in (help_en, help_ru):
        assert all(command in text for command in new), text
    assert "Inline" in help_en and "Инлайн" in help_ru
    for code in ("", "ru"):
        private = {c["command"]: c["description"] for c in api.get_commands(language_code=code)}
        group = {
            c["command"] for c in api.get_commands({"type": "all_group_chats"}, language_code=code)
        }
        assert {"favorites", "export", "game", "reveal", "top"} <= set(private)
        assert {"game", "reveal", "top", "favorites"} <= group
    ru_menu = {c["command"]: c["description"] for c in api.get_commands(language_code="ru")}
    assert "Игра" in ru_menu["game"]


async def test_two_quick_presses_save_once(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    message = await ask_names(api)
    name = names_in(message["text"])[0]
    data = exact_button(api, message, f"⭐ {name}")
    since = api.mark()
    first, second = api.press_button(message, data), api.press_button(message, data)
    for _ in range(2):
        await api.wait_for_call("answerCallbackQuery", since=since)
        since = api.mark()
    for _ in range(100):
        if first in api.callback_answers and second in api.callback_answers:
            break
        await asyncio.sleep(0.05)
    texts = sorted(api.callback_answers[q]["text"] for q in (first, second))
    assert sum("already" in text for text in texts) == 1, texts
    assert favorites_of(database_url, ANN) == [name]
    await handled(api, bot)  # both presses' markup edits are done; the second is a no-op
    assert exact_button(api, message, f"✅ {name}") == data
    assert all(call["ok"] or "not modified" in call["error"] for call in api.calls)


def backdate_answers(database_url: str, days: int) -> None:
    """Make every stored /name answer ``days`` old (dbutil stores the datetime as the bot
    would: UTC text on SQLite, timestamptz on PostgreSQL)."""
    old = datetime.now(UTC) - timedelta(days=days)
    execute(database_url, "UPDATE name_generations SET created_at = :old", old=old)


async def test_old_answers_expire_but_saved_names_stay(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    old = await ask_names(api)
    kept = names_in(old["text"])[0]
    await press(api, old, exact_button(api, old, f"⭐ {kept}"), wait_for="editMessageReplyMarkup")
    old = api.bot_messages(ANN)[-1]
    backdate_answers(database_url, days=31)
    fresh = await ask_names(api, "/name Al")

    assert await bot.bot_data["services"].favorites.prune_generations() == 1
    assert len(rows(database_url, "SELECT id FROM name_generations")) == 1  # the fresh one

    # The expired answer's buttons now say so and change nothing; the saved name is still there.
    other = names_in(old["text"])[1]
    expired = await press(
        api, old, exact_button(api, old, f"⭐ {other}"), wait_for="answerCallbackQuery"
    )
    assert expired.get("show_alert")
    more = await press(api, old, api.find_button(old, "🔄"), wait_for="answerCallbackQuery")
    assert more.get("show_alert")
    assert favorites_of(database_url, ANN) == [kept]
    # The fresh answer still works.
    name = names_in(fresh["text"])[0]
    await press(
        api, fresh, exact_button(api, fresh, f"⭐ {name}"), wait_for="editMessageReplyMarkup"
    )
    assert favorites_of(database_url, ANN) == [kept, name]


async def test_answers_older_than_the_ttl_are_pruned_at_start_up(
    api: FakeBotApi, bot_runner: Any, database_url: str
) -> None:
    async with bot_runner():
        await ask_names(api)
        await ask_names(api, "/name Al")
    backdate_answers(database_url, days=29)
    async with bot_runner():  # 29 days: still within the TTL
        assert len(rows(database_url, "SELECT id FROM name_generations")) == 2
    backdate_answers(database_url, days=31)
    # Some instance pruned at the first start-up, under 12 hours ago: once per period is
    # enough, however many instances (re)start meanwhile.
    async with bot_runner():
        assert len(rows(database_url, "SELECT id FROM name_generations")) == 2
    ((last_run,),) = rows(database_url, "SELECT last_run_at FROM job_runs WHERE name = 'prune'")
    execute(
        database_url,
        "UPDATE job_runs SET last_run_at = :at WHERE name = 'prune'",
        at=stored_time(last_run) - PRUNE_EVERY,
    )
    async with bot_runner() as app:  # the period is over: the start-up prunes
        assert rows(database_url, "SELECT id FROM name_generations") == []
        assert app.job_queue is not None and app.job_queue.get_jobs_by_name("prune")


def test_csv_cells_cannot_become_formulas() -> None:
    """Issue 12 item 10: a name starting with = + - @ must stay text in a spreadsheet."""
    saved = datetime(2026, 11, 23, tzinfo=UTC)
    items = [
        FavoriteRecord(1, ANN, name, "en", "=1+1", saved)
        for name in ('=HYPERLINK("x")', "-Ann", "+Bo", "@Cy", "Zoë")
    ]
    rows_ = list(csv.reader(io.StringIO(export_csv(items).decode("utf-8-sig"))))[1:]
    assert [r[0] for r in rows_] == ['\'=HYPERLINK("x")', "'-Ann", "'+Bo", "'@Cy", "Zoë"]
    assert {r[2] for r in rows_} == {"'=1+1"}
