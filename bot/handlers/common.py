"""What every handler needs: the services, the user's settings and language, safe replies."""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import Chat, Message, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.db.repository import UserPrefs
from bot.services import Services
from bot.texts import pick_language

MAX_ECHO = 40  # longest piece of user input we quote back


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


@dataclass(frozen=True)
class Caller:
    prefs: UserPrefs
    lang: str


def sender_chat(update: Update) -> Chat | None:
    """The chat a message was sent on behalf of (anonymous group admin, channel), if any.

    Only messages have one: a button press or an inline query always comes from a real user
    (Telegram names the person even when they are an anonymous admin).
    """
    if update.callback_query is not None or update.inline_query is not None:
        return None
    message = update.effective_message
    return message.sender_chat if message is not None else None


def owner_id(update: Update) -> int:
    """The id whose settings, favourites and game rounds an update acts on.

    Messages sent on behalf of a chat all come ``from`` one placeholder user, shared by every
    chat in Telegram: 1087968824 (GroupAnonymousBot) for anonymous group admins, 136817688
    (Channel_Bot) for channel posts and users writing as a channel, 777000 for a linked
    channel's automatic forwards. Keying on that user would give all of them one shared set
    of settings and favourites (and mix in nobody real). So such a sender is keyed by its
    ``sender_chat.id`` instead: chat ids are negative and never a user's id, so "the
    anonymous admins of this group" and "this channel" each get their own settings (used by
    /name, /game, …) and own the rounds and /name answers they start, as if they were one
    more user.

    Button presses always come from the real person behind the chat, which is a different
    owner: a ⭐ saves to that person's own list, and a settings menu sent to a chat-sender
    changes only the presser's settings (the /temp 0.8, /style ru, /language ru forms set
    the chat-sender's). Since nothing can be saved to a chat-sender's list, /favorites and
    /export tell them to ask in a private chat instead of showing an empty list.
    """
    chat = sender_chat(update)
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user else 0


async def caller(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Caller:
    """Settings and interface language of whoever is behind an update (see ``owner_id``)."""
    user = update.effective_user
    prefs = await services(context).settings.get(owner_id(update))
    # a chat-sender's ``from`` is a placeholder bot with no language of its own
    telegram_lang = user.language_code if user and sender_chat(update) is None else None
    return Caller(prefs, pick_language(prefs.language, telegram_lang))


def for_another_bot(message: Message | None) -> bool:
    """Whether ``message`` starts with a command addressed to another bot (/export@OtherBot).

    CommandHandler skips those by itself; a handler that matches any command (the unknown
    command reply) must check, for new and edited messages alike.
    """
    if message is None or not message.entities:
        return False
    entity = message.entities[0]
    if entity.type != MessageEntity.BOT_COMMAND or entity.offset != 0:
        return False
    _, at, target = message.parse_entity(entity).partition("@")
    return bool(at) and target.lower() != (message.get_bot().username or "").lower()


def quote(text: str, limit: int = MAX_ECHO) -> str:
    """User text made safe to show inside an HTML reply: cut short, control chars out."""
    cleaned = "".join(ch if ch.isprintable() else "·" for ch in text)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return html.escape(cleaned)


async def reply(update: Update, text: str, **kwargs: object) -> None:
    """Answer in the same chat (and thread), as HTML."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, **kwargs)
