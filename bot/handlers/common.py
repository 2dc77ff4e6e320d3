"""What every handler needs: the services, the user's settings and language, safe replies."""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import Update
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


async def caller(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Caller:
    """Settings and interface language of the user behind an update."""
    user = update.effective_user
    user_id = user.id if user else 0
    prefs = await services(context).settings.get(user_id)
    return Caller(prefs, pick_language(prefs.language, user.language_code if user else None))


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
