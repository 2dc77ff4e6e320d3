"""The README's example conversation is what the bot really says, end to end.

Every turn of the first example block is sent to the real bot in order. Replies that do not
depend on chance (the /temp confirmation, the mood of a text) must match exactly. /name draws
random names, so for it the header and the buttons must match, and every name the README
shows must fit the prefix and carry the mark (📖 real / ✨ invented) the model's training
names give it: the example could have come from this bot, and says nothing it wouldn't.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.app import Models
from bot.fake_api import FakeBotApi, parse_formatted_text

README = Path(__file__).resolve().parent.parent / "README.md"
INDENT = "     "
NAME_LINE = re.compile(r"^(📖|✨) (\S.*)$")
BUTTON = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class Turn:
    said: str
    answer: list[str]  # the reply's lines as the README shows them, indentation removed


def readme_turns() -> list[Turn]:
    """The turns of the README's first example block (``you> …`` then ``bot> …``)."""
    block = README.read_text(encoding="utf-8").split("```")[1]
    turns = []
    for chunk in re.split(r"\n(?=you> )", block.strip()):
        said, _, answer = chunk.partition("\nbot> ")
        first, *rest = answer.splitlines()
        lines = [first, *(line.removeprefix(INDENT) for line in rest)]
        turns.append(Turn(said.removeprefix("you> "), lines))
    return turns


def readme_mood_examples() -> list[tuple[str, str]]:
    return [(turn.said, "\n".join(turn.answer)) for turn in readme_turns() if turn.said[:1] != "/"]


def test_readme_has_mood_examples() -> None:
    assert len(readme_mood_examples()) >= 3


def test_readme_shows_a_name_answer_with_its_buttons() -> None:
    [names] = [turn for turn in readme_turns() if turn.said.startswith("/name ")]
    assert sum(bool(NAME_LINE.match(line)) for line in names.answer) >= 3
    assert sum(line.startswith("[") for line in names.answer) >= 4


async def reply_to(api: FakeBotApi, text: str) -> tuple[str, list[list[str]]]:
    """What the user sees of the bot's answer: its text and its button labels, row by row."""
    since = api.mark()
    message = api.send_message(text)
    params = await api.wait_for_reply(message["chat"]["id"], since=since, timeout=30)
    shown, _ = parse_formatted_text(params["text"], params.get("parse_mode"))
    sent = api.bot_messages(message["chat"]["id"])[-1]
    rows = (sent.get("reply_markup") or {}).get("inline_keyboard", [])
    return shown, [[button["text"] for button in row] for row in rows]


def check_name_answer(turn: Turn, shown: str, rows: list[list[str]], models: Models) -> None:
    prefix = turn.said.removeprefix("/name ").strip()
    header = turn.answer[0]
    assert shown.splitlines()[0] == header, "the header changed"
    assert f"“{prefix}”" in header and "English" in header  # README: the default style
    known = models.names["en"].known_names
    listed = []
    for line in turn.answer[1:]:
        if match := NAME_LINE.match(line):
            mark, name = match.groups()
            listed.append(name)
            assert name.startswith(prefix), name
            assert (mark == "📖") == (name.lower() in known), f"{mark} {name} is marked wrongly"
    readme_rows = [BUTTON.findall(line) for line in turn.answer if line.startswith("[")]
    stars = [row for row in readme_rows if row[0].startswith("⭐")]
    # the bot: one ⭐ per name, in the list's order, two to a row
    assert [label for row in stars for label in row] == [f"⭐ {name}" for name in listed]
    assert all(len(row) == 2 for row in stars)
    assert all(len(row) == 2 for row in rows if row[0].startswith("⭐"))
    others = [row for row in readme_rows if not row[0].startswith("⭐")]
    assert others == [row for row in rows if not row[0].startswith("⭐")], "the buttons changed"


async def test_readme_conversation_is_what_the_bot_says(
    api: FakeBotApi, bot: object, shipped_models: Models
) -> None:
    for turn in readme_turns():
        shown, rows = await reply_to(api, turn.said)
        if turn.said.startswith("/name "):
            check_name_answer(turn, shown, rows, shipped_models)
        else:
            assert shown == "\n".join(turn.answer), turn.said
