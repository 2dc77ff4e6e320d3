"""Inline mode (``@bot Ser``) end to end: real PTB answering inline queries over the fake API."""

from __future__ import annotations

import re

import pytest

from bot.fake_api import FakeBotApi
from tests.conftest import inline, say


async def test_prefix_gives_up_to_ten_personal_names(api: FakeBotApi, bot: object) -> None:
    answer = await inline(api, "Ser")
    results = answer["results"]
    assert 1 <= len(results) <= 10
    assert answer["is_personal"] is True and answer["cache_time"] == 5  # README: cached 5 s
    titles = [r["title"] for r in results]
    assert all(r["type"] == "article" for r in results)
    assert all(title.startswith("Ser") and title != "Ser" for title in titles)
    assert len(set(titles)) == len(titles)
    assert [r["input_message_content"]["message_text"] for r in results] == titles


async def test_empty_query_offers_random_names(api: FakeBotApi, bot: object) -> None:
    results = (await inline(api, ""))["results"]
    assert len(results) == 10
    assert all(r["title"][:1].isupper() for r in results)


async def test_user_style_is_used(api: FakeBotApi, bot: object) -> None:
    await say(api, "/style ru")
    titles = [r["title"] for r in (await inline(api, "ан"))["results"]]
    assert titles and all(t.startswith("Ан") for t in titles)
    ru_user = api.user(4004, "Оля", language_code="ru")  # Russian clients default to ru names
    results = (await inline(api, "Ма", user=ru_user))["results"]
    assert all(r["title"].startswith("Ма") for r in results)
    assert any("имя" in r["description"] for r in results)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("🙂", "letters"), ("S" * 200, "too long"), ("Сер", "/style ru"), ("a1b", "letters")],
)
async def test_bad_query_offers_nothing_to_send_and_explains_privately(
    api: FakeBotApi, bot: object, query: str, expected: str
) -> None:
    """Issue 12 item 7: an explanation must not be something one can post into a chat."""
    answer = await inline(api, query)
    assert answer["results"] == [] and answer["cache_time"] == 5 and answer["is_personal"]
    button = answer["button"]
    assert "tap" in button["text"] and re.fullmatch(
        r"why-[A-Za-z0-9_-]{1,60}", button["start_parameter"]
    )
    # the button opens a private chat with "/start <parameter>": the reason is told there
    explanation = await say(api, f"/start {button['start_parameter']}")
    assert expected in explanation and "@username" in explanation
