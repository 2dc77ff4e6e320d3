"""The temperature's bounds (README: /temp 0.1–2.0, `0,7` works too): both ends are usable
settings that make names, and the first step past either is refused politely."""

from __future__ import annotations

import pytest

from bot.fake_api import FakeBotApi
from bot.services.settings import parse_temperature
from tests.conftest import say
from tests.test_bot_names import names_in


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", 0.1),
        ("0,1", 0.1),
        (" 2 ", 2.0),
        ("2.0", 2.0),
        ("2,00", 2.0),
        ("0.09", None),
        ("0.099", None),
        ("2.01", None),
        ("2.001", None),
    ],
)
def test_parse_temperature_bounds(text: str, value: float | None) -> None:
    assert parse_temperature(text) == value


@pytest.mark.parametrize(("typed", "shown"), [("0.1", "0.1"), ("2,0", "2.0")])
async def test_both_ends_are_accepted_and_make_names(
    api: FakeBotApi, bot: object, typed: str, shown: str
) -> None:
    assert await say(api, f"/temp {typed}") == f"Temperature set to {shown}."
    reply = await say(api, "/name Ma")
    assert reply.startswith(f"Names starting with “Ma” · English · temperature {shown}\n")
    assert names_in(reply) and all(name.startswith("Ma") for name in names_in(reply))


@pytest.mark.parametrize("typed", ["0.09", "2.01", "0,09"])
async def test_just_past_the_ends_is_refused_politely(
    api: FakeBotApi, bot: object, typed: str
) -> None:
    await say(api, "/temp 1.3")
    assert await say(api, f"/temp {typed}") == (
        f"“{typed}” isn't a temperature I can use. Send a number from 0.1 to 2.0, for example "
        "/temp 0.8 (0,8 works too). Your temperature stays 1.3."
    )
    assert "temperature 1.3" in (await say(api, "/name Ma")).splitlines()[0]
