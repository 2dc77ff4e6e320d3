"""Commands addressed to another bot (/export@OtherBot) are never answered, edited or not."""

from __future__ import annotations

import pytest
from telegram.ext import Application

from bot.fake_api import FakeBotApi
from tests.conftest import say
from tests.quiet import handled

GROUP = -300


async def assert_no_reply(api: FakeBotApi, app: Application, since: int) -> None:
    """Every update so far handled, and the bot made no call at all (no reply, no edit)."""
    await handled(api, app)
    assert api.calls[since:] == [], api.dump_calls(since)


@pytest.mark.parametrize("where", ["private", "group"])
async def test_commands_for_other_bots_are_ignored_new_or_edited(
    api: FakeBotApi, bot: Application, where: str
) -> None:
    ann = api.user(1001, "Ann")
    chat = {"user": ann} if where == "private" else {"user": ann, "chat_id": GROUP}
    chat_type = {} if where == "private" else {"chat_type": "group"}
    chat_id = 1001 if where == "private" else GROUP
    await say(api, "/start", **chat, **chat_type)  # the bot knows the chat

    since = api.mark()
    sent = [
        api.send_message(text, **chat, **chat_type)
        for text in ("/export@OtherBot", "/frobnicate@OtherBot", "/review@OtherBot lovely film")
    ]
    await assert_no_reply(api, bot, since)

    since = api.mark()
    chatter = api.send_message("what a lovely day", **chat, **chat_type)
    if where == "private":  # read as a review there
        await api.wait_for_reply(chat_id, since=since)

    since = api.mark()
    edits = ("/export@OtherBot now", "/name@OtherBot Ser", "/x@Other_bot")
    for message, text in zip(sent, edits, strict=True):
        api.edit_message(message, text)
    api.edit_message(chatter, "/export@OtherBot")  # an edit that turns chatter into a command
    await assert_no_reply(api, bot, since)

    # the same commands addressed to this bot (or to no bot) are answered, edited or not
    assert "Nothing to export" in await say(api, "/export@namecraft_test_bot", **chat, **chat_type)
    since = api.mark()
    api.edit_message(sent[0], "/export")
    assert "Nothing to export" in (await api.wait_for_reply(chat_id, since=since))["text"]
    if where == "private":
        assert "don't know that command" in await say(api, "/frobnicate", user=ann)
