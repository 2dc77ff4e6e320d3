"""What every handler needs: the services, the user's settings and language, safe replies."""

from __future__ import annotations

import functools
import html
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Chat, InlineQueryResultsButton, Message, MessageEntity, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.db.repository import UserPrefs
from bot.services import Services
from bot.texts import pick_language, plural
from bot.throttle import FairUse

log = logging.getLogger(__name__)

MAX_ECHO = 40  # longest piece of user input we quote back
FAIR_USE_KEY = "fair_use"  # bot_data: the Application's bot.throttle.FairUse
SLOW_PARAMETER = "slow"  # /start parameter of the inline "too fast" button: explains the limit


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


def button_match(context: ContextTypes.DEFAULT_TYPE) -> re.Match[str] | None:
    """What the handler's pattern matched in the pressed button's data: the one way buttons
    are read.

    Each kind of button has one compiled pattern, anchored at both ends, that
    register_handlers gives its CallbackQueryHandler; PTB puts the match in
    ``context.matches`` and the handler reads only its groups. None for a press with no data
    (PTB hands those to the first pattern handler, which refuses it like a stale button).
    """
    matches = context.matches or []
    return matches[0] if matches and isinstance(matches[0], re.Match) else None


def quote(text: str, limit: int = MAX_ECHO) -> str:
    """User text made safe to show inside an HTML reply: cut short, control chars out."""
    cleaned = "".join(ch if ch.isprintable() else "·" for ch in text)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return html.escape(cleaned)


async def reply(update: Update, text: str, **kwargs: object) -> None:
    """Answer in the same chat (and thread); HTML, like everything the bot sends."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, **kwargs)


async def edit_ignoring_unchanged(edit: Awaitable[object]) -> None:
    """Await an edit; one that would change nothing is refused by Telegram ("message is not
    modified": the same value chosen again, two quick presses, a verdict that did not change),
    and that is no error here. The one place the bot recognises that refusal."""
    try:
        await edit
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


def fair_use(context: ContextTypes.DEFAULT_TYPE) -> FairUse:
    return context.bot_data[FAIR_USE_KEY]


async def admit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str | None = None
) -> bool:
    """Whether whoever is behind ``update`` may have one more model call now (bot/throttle.py).

    The one place the per-user limit is checked. Refused, they are told when to try again, in
    their language: a button press by a toast, an inline query by an empty answer whose button
    says it, a message by one reply (further messages while they wait get none, so a flood
    does not turn into a flood of replies).
    """
    decision = fair_use(context).throttle.check(owner_id(update))
    if decision.allowed:
        return True
    seconds = max(1, math.ceil(decision.retry_after))
    if update.callback_query is None and update.inline_query is None:
        if not decision.first_refusal:
            return False
        log.info("a user went over the rate limit; told them to wait %d s", seconds)
    lang = lang or (await caller(update, context)).lang
    if update.callback_query is not None:
        await update.callback_query.answer(plural(lang, "throttled", seconds, seconds=seconds))
    elif update.inline_query is not None:
        await update.inline_query.answer(
            [],
            cache_time=0,
            is_personal=True,
            button=InlineQueryResultsButton(
                text=plural(lang, "inline_throttled", seconds, seconds=seconds),
                start_parameter=SLOW_PARAMETER,
            ),
        )
    else:
        await reply(update, plural(lang, "throttled", seconds, seconds=seconds))
    return False


Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def throttled(callback: Callback) -> Callback:
    """``callback`` behind the per-user limit (``admit``): how register_handlers marks the
    actions that run a model."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await admit(update, context):
            await callback(update, context)

    return guarded
