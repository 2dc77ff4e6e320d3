"""The README's example conversation is what the bot really says (mood examples, end to end)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.fake_api import FakeBotApi, parse_formatted_text
from tests.conftest import say

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_mood_examples() -> list[tuple[str, str]]:
    """(user text, bot reply) pairs of the first example block whose text is not a command."""
    block = README.read_text(encoding="utf-8").split("```")[1]
    pairs: list[tuple[str, str]] = []
    for turn in re.split(r"\n(?=you> )", block.strip()):
        said, _, answer = turn.partition("\nbot> ")
        said = said.removeprefix("you> ")
        if not said.startswith("/"):
            lines = answer.splitlines()
            pairs.append(
                (said, "\n".join([lines[0], *(x.removeprefix("     ") for x in lines[1:])]))
            )
    return pairs


def test_readme_has_mood_examples() -> None:
    assert len(readme_mood_examples()) >= 3


async def test_readme_mood_examples_are_what_the_bot_says(api: FakeBotApi, bot: object) -> None:
    for said, expected in readme_mood_examples():
        shown, _ = parse_formatted_text(await say(api, said), "HTML")  # what the user sees
        assert shown == expected
