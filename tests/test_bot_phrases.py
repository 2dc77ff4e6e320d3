"""/phrase end to end (issue 13): fake Bot API, real PTB, the shipped phrase checkpoints, a real
database. Lines start with the given text, 🔄 and the voice switches send fresh sets, ⭐ saves a
line that /favorites and /export then show, forged buttons change nothing, inline mode offers
phrases after a voice name."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from telegram.ext import Application

from bot.fake_api import FakeBotApi
from bot.handlers.favorites import UNDO_SECONDS_KEY
from tests.conftest import ask, inline, say
from tests.dbutil import rows
from tests.quiet import handled
from tests.test_favorites import press, until, wait_documents

ANN = 1001
LINE = re.compile(r"^\d\. (.+)$", re.M)
SIMPSONS = ("moe", "homer", "lenny", "barney", "carl", "marge", "simpsons")


def lines_in(text: str) -> list[str]:
    return LINE.findall(text)


def model_calls(app: Application) -> int:
    return app.bot_data["executor"].stats.calls


def button_data(message: dict[str, Any]) -> list[str]:
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in keyboard for b in row]


async def test_homer_lines_start_with_the_given_text(api: FakeBotApi, bot: Application) -> None:
    answer = await ask(api, "/phrase homer Mmm")
    lines = lines_in(answer["text"])
    assert len(lines) == 3, answer["text"]
    assert all(line.startswith("Mmm") and len(line) > 3 for line in lines), lines
    assert "Homer" in answer["text"].splitlines()[0]
    data = button_data(answer)
    assert sum(d.startswith("fav:") for d in data) == 3
    assert sum(d.startswith("phrmore:") for d in data) == 1
    switches = {d.rsplit(":", 1)[1] for d in data if d.startswith("phrvoice:")}
    assert switches == {*SIMPSONS, "tolstoy"}


async def test_tolstoy_lines_start_with_anna_in_any_case(api: FakeBotApi, bot: object) -> None:
    lines = lines_in(await say(api, "/phrase tolstoy Анна"))
    assert len(lines) == 3 and all(line.startswith("Анна") for line in lines), lines
    # the Russian alias, any case; the start stays as typed
    lines = lines_in(await say(api, "/phrase ТОЛСТОЙ анна"))
    assert lines and all(line.startswith("анна") for line in lines), lines
    lines = lines_in(await say(api, "/phrase Гомер Mmm"))
    assert lines and all(line.startswith("Mmm") for line in lines), lines


async def test_phrase_alone_picks_some_voice(api: FakeBotApi, bot: object) -> None:
    answer = await say(api, "/phrase")
    assert len(lines_in(answer)) >= 1, answer
    titles = ("Moe", "Homer", "Lenny", "Barney", "Carl", "Marge", "Anyone at Moe's", "Tolstoy")
    assert any(title in answer.splitlines()[0] for title in titles), answer


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("/phrase bart Eat", "homer, lenny"),  # unknown voice: the voices are listed
        ("/phrase homer Привет", "/phrase tolstoy"),  # Cyrillic: the voice that can write it
        ("/phrase homer Mmm🙂", "🙂"),  # the character it cannot write is named
        ("/phrase homer " + "a" * 150, "100"),  # too long: the limit is said
        ("/phrase homer <b>", "&lt;"),  # what is echoed is escaped
    ],
)
async def test_bad_requests_get_a_friendly_reply_and_no_model_call(
    api: FakeBotApi, bot: Application, request_text: str, expected: str
) -> None:
    before = model_calls(bot)
    since = api.mark()
    api.send_message(request_text)
    call = await api.wait_for_call("sendMessage", since=since)
    assert call["ok"], call
    assert expected in call["params"]["text"], call["params"]["text"]
    assert not lines_in(api.bot_messages(ANN)[-1]["text"])
    assert "reply_markup" not in call["params"]
    assert model_calls(bot) == before


async def test_more_gives_a_fresh_set_with_the_same_voice_and_start(
    api: FakeBotApi, bot: object
) -> None:
    answer = await ask(api, "/phrase moe Hey")
    first = lines_in(answer["text"])
    since = api.mark()
    api.press_button(answer, api.find_button(answer, "🔄"))
    await api.wait_for_reply(ANN, since=since)
    fresh = api.bot_messages(ANN)[-1]
    again = lines_in(fresh["text"])
    assert len(again) == 3 and all(line.startswith("Hey") for line in again)
    assert "Moe" in fresh["text"].splitlines()[0]
    assert fresh["message_id"] != answer["message_id"]
    assert again != first  # random lines: three identical ones again would be a stored copy


async def test_voice_switch_keeps_the_start_or_explains(api: FakeBotApi, bot: Application) -> None:
    answer = await ask(api, "/phrase homer Well")
    since = api.mark()
    api.press_button(answer, api.find_button(answer, "Marge"))
    await api.wait_for_reply(ANN, since=since)
    switched = api.bot_messages(ANN)[-1]
    assert "Marge" in switched["text"].splitlines()[0]
    assert all(line.startswith("Well") for line in lines_in(switched["text"]))
    # Cyrillic cannot go to a Simpsons voice: an alert says so, nothing is sent
    russian = await ask(api, "/phrase tolstoy Анна")
    sent = len(api.bot_messages(ANN))
    reply = await press(
        api, russian, api.find_button(russian, "Homer"), wait_for="answerCallbackQuery"
    )
    assert reply.get("show_alert") and "А" in reply["text"], reply
    await handled(api, bot)
    assert len(api.bot_messages(ANN)) == sent


async def test_star_saves_then_favorites_and_export_show_it(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    await say(api, "/name Ser")  # a name next to the phrase
    names = api.bot_messages(ANN)[-1]
    await press(api, names, api.find_button(names, "⭐"), wait_for="editMessageReplyMarkup")
    answer = await ask(api, "/phrase tolstoy Анна")
    second = lines_in(answer["text"])[1]
    reply = await press(
        api, answer, api.find_button(answer, "⭐ 2"), wait_for="answerCallbackQuery"
    )
    assert "Фраза" not in reply["text"] and "Saved" in reply["text"], reply
    await until(lambda: "✅ 2" in str(api.bot_messages(ANN)[-1].get("reply_markup")))
    saved = rows(database_url, "SELECT name, style, prefix, kind FROM favorites ORDER BY id")
    assert saved[1] == (second, "tolstoy", "Анна", "phrase")
    assert saved[0][3] == "name"

    listing = (await ask(api, "/favorites"))["text"]
    assert f"💬 {second} · Tolstoy" in listing, listing

    api.send_message("/export")
    await wait_documents(api, 2)
    txt, table = api.documents[-2], api.documents[-1]
    assert second in txt["content"].decode("utf-8").splitlines()
    parsed = list(csv.reader(io.StringIO(table["content"].decode("utf-8-sig"))))
    assert parsed[0] == ["name", "style", "prefix", "saved_at", "kind", "voice"]
    phrase_rows = [r for r in parsed[1:] if r[4] == "phrase"]
    assert [(r[0], r[1], r[2], r[5]) for r in phrase_rows] == [
        (second, "tolstoy", "Анна", "tolstoy")
    ]
    assert [r[4:] for r in parsed[1:] if r[0] != second] == [["name", ""]]


async def test_forged_and_foreign_buttons_get_the_alert_and_change_nothing(
    api: FakeBotApi, bot: object, database_url: str
) -> None:
    names = await ask(api, "/name Ser")
    name_id = next(d for d in button_data(names) if d.startswith("more:")).split(":")[1]
    answer = await ask(api, "/phrase homer Mmm")
    phrase_id = next(d for d in button_data(answer) if d.startswith("phrmore:")).split(":")[1]
    sent = len(api.bot_messages(ANN))
    forgeries = (
        f"phrmore:{name_id}",  # a /name answer is no phrase answer
        f"phrmore:{int(phrase_id) + 999}",
        f"phrvoice:{phrase_id}:bart",
        f"phrvoice:{phrase_id}:HOMER",
        f"phrvoice:{name_id}:homer",
        f"more:{phrase_id}",  # nor the other way round
        f"ctl:{phrase_id}:sex:f",
        f"fav:{phrase_id}:3",
        f"phrvoice:{phrase_id}:homer:x",
    )
    for forged in forgeries:
        reply = await press(api, answer, forged, wait_for="answerCallbackQuery", forged=True)
        assert reply.get("show_alert"), forged
    # someone else's chat: the id is refused there
    bo = api.user(2002, "Bo")
    theirs = await ask(api, "/name Al", user=bo)
    reply = await press(
        api, theirs, f"phrmore:{phrase_id}", wait_for="answerCallbackQuery", forged=True, user=bo
    )
    assert reply.get("show_alert")
    assert len(api.bot_messages(ANN)) == sent
    assert rows(database_url, "SELECT count(*) FROM favorites") == [(0,)]
    assert rows(database_url, "SELECT sex FROM user_settings WHERE user_id = :u", u=ANN) in (
        [],
        [(None,)],
    )


async def test_a_russian_interface_user_gets_russian_texts(api: FakeBotApi, bot: object) -> None:
    ivan = api.user(2002, "Иван", language_code="ru")
    answer = await ask(api, "/phrase гомер Mmm", user=ivan)
    assert "Гомер" in answer["text"] and "температура" in answer["text"], answer["text"]
    labels = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert "🔄 Ещё" in labels and "Мардж" in labels
    reply = await press(
        api, answer, api.find_button(answer, "⭐ 1"), wait_for="answerCallbackQuery", user=ivan
    )
    assert "Фраза" in reply["text"], reply
    assert "Голоса:" in await say(api, "/phrase барт", user=ivan)
    help_text = await say(api, "/help", user=ivan)
    assert "/phrase" in help_text and "толстой" in help_text


async def test_help_and_menus_offer_phrase(api: FakeBotApi, bot: object) -> None:
    assert "/phrase homer Mmm" in await say(api, "/help")
    for code in ("", "ru"):
        assert "phrase" in {c["command"] for c in api.get_commands(language_code=code)}
        group = api.get_commands({"type": "all_group_chats"}, language_code=code)
        assert "phrase" in {c["command"] for c in group}


async def test_inline_query_after_a_voice_offers_phrases(api: FakeBotApi, bot: object) -> None:
    answer = await inline(api, "homer Mmm")
    results = answer["results"]
    assert results and answer["is_personal"] and answer["cache_time"] == 5
    assert all(r["title"].startswith("Mmm") for r in results), results
    assert all("Homer" in r["description"] for r in results)
    sent = [r["input_message_content"]["message_text"] for r in results]
    assert all(text.startswith("Mmm") and "Homer" in text for text in sent)
    russian = (await inline(api, "толстой Анна"))["results"]
    assert russian and all(r["title"].startswith("Анна") for r in russian)
    # a name prefix that is no voice still gives names; a bad start explains privately
    names = (await inline(api, "Ser"))["results"]
    assert names and all(r["title"].startswith("Ser") for r in names)
    refused = await inline(api, "homer Привет")
    assert refused["results"] == [] and refused["button"]["start_parameter"] == "phrase"
    assert "tolstoy" in await say(api, "/start phrase")


async def test_removing_a_saved_phrase_names_it_shortly_and_can_be_undone(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    bot.bot_data[UNDO_SECONDS_KEY] = 30.0  # the undo stays on offer for this test
    ivan = api.user(2002, "Иван", language_code="ru")
    answer = await ask(api, "/phrase толстой Анна", user=ivan)
    await press(
        api, answer, api.find_button(answer, "⭐ 1"), wait_for="answerCallbackQuery", user=ivan
    )
    await until(lambda: bool(rows(database_url, "SELECT id FROM favorites")))
    listing = await ask(api, "/favorites", user=ivan)
    delete = next(
        b
        for row in listing["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"].startswith("🗑")
    )
    assert len(delete["text"]) <= len("🗑 ") + 24  # a phrase is named by its first words
    reply = await press(
        api, listing, delete["callback_data"], wait_for="editMessageText", user=ivan
    )
    assert reply["text"].startswith("Фраза «Анна"), reply
    notice = api.bot_messages(2002)[-1]
    assert "Фраза 💬" in notice["text"] and "удалена" in notice["text"], notice["text"]
    undo = api.find_button(notice, "↩")
    reply = await press(api, notice, undo, wait_for="editMessageText", user=ivan)
    assert "снова в избранном" in reply["text"], reply
    assert rows(database_url, "SELECT kind FROM favorites") == [("phrase",)]
