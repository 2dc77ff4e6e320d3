"""Messages sent on behalf of a chat: anonymous group admins and channels.

Telegram sends them all ``from`` one placeholder user (GroupAnonymousBot, Channel_Bot), the
same in every chat; the bot keys such a sender by its ``sender_chat`` so that nobody's
settings, answers or rounds mix (see ``bot.handlers.common.owner_id``).
"""

from __future__ import annotations

from telegram.ext import Application

from bot.fake_api import CHANNEL_BOT_ID, GROUP_ANONYMOUS_BOT_ID, FakeBotApi
from tests.conftest import say
from tests.dbutil import rows

GROUP, OTHER_GROUP = -300, -400


def group(chat_id: int) -> dict:
    return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}


def settings(database_url: str) -> dict[int, tuple[float, str | None]]:
    found = rows(database_url, "SELECT user_id, temperature, language FROM user_settings")
    return {user_id: (temperature, language) for user_id, temperature, language in found}


async def as_chat(api: FakeBotApi, text: str, chat_id: int, sender: dict) -> str:
    """``text`` sent in group ``chat_id`` on behalf of ``sender``; the bot's reply."""
    return await say(api, text, chat_id=chat_id, chat_type="group", sender_chat=sender)


async def test_anonymous_admins_and_channels_do_not_share_settings(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    ann = api.user(1001, "Ann")
    await say(api, "/temp 0.3", user=ann, chat_id=GROUP, chat_type="group")
    assert "1.7" in await as_chat(api, "/temp 1.7", GROUP, group(GROUP))
    # another group's anonymous admins are other people, though Telegram names them the same
    assert "Your temperature is 1.0" in await as_chat(api, "/temp", OTHER_GROUP, group(OTHER_GROUP))
    news, blog = api.channel(-1002000000001, "News"), api.channel(-1002000000002, "Blog")
    assert "русский" in await as_chat(api, "/language ru", GROUP, news)
    assert "Your temperature is 1.0" in await as_chat(api, "/temp", GROUP, blog)
    assert "Ваша температура 1.0" in await as_chat(
        api, "/temp", OTHER_GROUP, news
    )  # the same channel

    assert "Your temperature is 0.3" in await say(
        api, "/temp", user=ann, chat_id=GROUP, chat_type="group"
    )
    assert settings(database_url) == {
        1001: (0.3, None),
        GROUP: (1.7, None),
        news["id"]: (1.0, "ru"),
    }
    assert GROUP_ANONYMOUS_BOT_ID not in settings(database_url)
    assert CHANNEL_BOT_ID not in settings(database_url)


async def test_favourites_of_a_chat_sender_are_nobodys_list(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """A ⭐ pressed under an anonymous admin's /name answer saves to the presser's own list;
    /favorites on behalf of a chat says where the list is instead of showing a shared one."""
    ann = api.user(1001, "Ann")
    since = api.mark()
    api.send_message("/name Ser", chat_id=GROUP, chat_type="group", sender_chat=group(GROUP))
    await api.wait_for_reply(GROUP, since=since)
    answer = api.bot_messages(GROUP)[-1]
    assert rows(database_url, "SELECT user_id FROM name_generations") == [(GROUP,)]
    since = api.mark()
    api.press_button(answer, api.find_button(answer, "⭐"), user=ann)
    await api.wait_for_call("answerCallbackQuery", since=since)
    assert [user for (user,) in rows(database_url, "SELECT user_id FROM favorites")] == [1001]

    for command in ("/favorites", "/export"):
        reply = await as_chat(api, command, GROUP, group(GROUP))
        assert "on behalf of a chat" in reply and "private chat" in reply, command
        reply = await as_chat(api, command, GROUP, api.channel())
        assert "on behalf of a chat" in reply, command
    assert not api.documents  # nobody's list was exported
    assert "Ser" in await say(api, "/favorites", user=ann, chat_id=GROUP, chat_type="group")


async def test_game_rounds_of_chat_senders(
    api: FakeBotApi, bot: Application, database_url: str
) -> None:
    """An anonymous admin's round is the group's own; a channel may not end someone else's."""
    since = api.mark()
    api.send_message("/game", chat_id=GROUP, chat_type="group", sender_chat=group(GROUP))
    await api.wait_for_reply(GROUP, since=since)
    assert rows(database_url, "SELECT started_by FROM game_rounds") == [(GROUP,)]
    refusal = await as_chat(api, "/reveal", GROUP, api.channel())
    assert "Only the player who started this round" in refusal
    result = await as_chat(api, "/reveal", GROUP, group(GROUP))
    assert "/top" in result
    assert not [call for call in api.calls if call["method"] == "getChatMember"]

    # a channel that started a round may end it; an anonymous admin may end anyone's
    await as_chat(api, "/game", OTHER_GROUP, api.channel())
    assert "/top" in await as_chat(api, "/reveal", OTHER_GROUP, api.channel())
    await say(api, "/game", user=api.user(1001, "Ann"), chat_id=GROUP, chat_type="group")
    assert "/top" in await as_chat(api, "/reveal", GROUP, group(GROUP))
