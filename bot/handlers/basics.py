"""/start, /help, unknown commands, plain chatter, and the error handler."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.error import TimedOut
from telegram.ext import ContextTypes

from bot.handlers.common import (
    SLOW_PARAMETER,
    caller,
    for_another_bot,
    owner_id,
    reply,
    services,
)
from bot.handlers.inline import PHRASE_PARAMETER, refusal_from_parameter
from bot.handlers.names import explain_refusal
from bot.inference import InferenceBusy
from bot.metrics import METRICS_KEY, handler_failed
from bot.texts import format_temperature, pick_language, style_title, t

log = logging.getLogger(__name__)


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a welcome in the user's language with the current settings."""
    who = await caller(update, context)
    user = update.effective_user
    style = services(context).names.resolve_style(who.prefs.style, who.lang)
    # "/start why-…" and "/start slow" arrive from the button of a refused inline query
    if context.args and context.args[0] == SLOW_PARAMETER:
        await reply(update, f"{t(who.lang, 'throttled_help')}\n\n{t(who.lang, 'inline_help')}")
        return
    if context.args and context.args[0] == PHRASE_PARAMETER:
        voices = ", ".join(services(context).phrases.voices) or "—"
        await reply(update, t(who.lang, "inline_phrase_help", voices=voices))
        return
    refusal = refusal_from_parameter(context.args[0]) if context.args else None
    if refusal is not None:
        reason = explain_refusal(refusal, who.lang, style)
        await reply(update, f"{reason}\n\n{t(who.lang, 'inline_help')}")
        return
    await reply(
        update,
        t(
            who.lang,
            "start",
            name=html.escape(user.first_name if user else "friend"),
            style=style_title(who.lang, style),
            temperature=format_temperature(who.prefs.temperature),
        ),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = await caller(update, context)
    await reply(update, t(who.lang, "help"))


async def about_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/about: what reads the user's messages, on which data, under which terms."""
    who = await caller(update, context)
    names = services(context).sentiment.model_names()
    models = "; ".join(html.escape(name) for lang in sorted(names) for name in names[lang])
    await reply(update, t(who.lang, "about", models=models or "—"))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no CommandHandler took; one meant for another bot is not ours to answer."""
    if for_another_bot(update.effective_message):
        return
    who = await caller(update, context)
    await reply(update, t(who.lang, "unknown_command"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (the token is redacted by the log filter) and apologise to the user.

    A full inference queue (``InferenceBusy``) is not a failure: the user is asked to retry
    in a moment, and it is logged as a warning without a traceback. A Bot API call that timed
    out after ``bot.sending`` gave up on it most likely *did* arrive (the answer was sent, its
    confirmation was lost), so there is no apology on top of it: one message, one answer.
    In webhook mode a database that cannot be reached gets no apology either: the webhook
    server answers Telegram with an error, Telegram sends the update again, and the user gets
    the real answer then (bot/metrics.py ``handler_failed``).
    """
    if handler_failed(context.error, context.bot_data.get(METRICS_KEY)):
        log.warning(
            "the database is unreachable (%s); Telegram will deliver the update again",
            type(context.error).__name__,
        )
        return
    busy = isinstance(context.error, InferenceBusy)
    if busy:
        log.warning("inference queue full: asked the user to retry")
    elif isinstance(context.error, TimedOut):
        log.warning("a Bot API call timed out; its outcome is unknown, so no apology is sent")
        return
    else:
        log.error("handler failed", exc_info=context.error)
    if isinstance(update, Update) and update.inline_query is not None:
        try:  # an empty answer rather than a spinner until Telegram gives up
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        except Exception:
            log.warning("could not answer the inline query after an error", exc_info=True)
        return
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    lang = pick_language(None, user.language_code if user else None)
    if user is not None:
        try:  # the language chosen with /language wins, unless the database is what failed
            prefs = await services(context).settings.get(owner_id(update))
            lang = pick_language(prefs.language, user.language_code)
        except Exception:
            log.warning("could not read the user's language for the apology", exc_info=True)
    text = t(lang, "busy" if busy else "error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:  # the apology itself failed (network, chat gone): nothing more to do
        log.warning("could not send the error apology", exc_info=True)


async def non_text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice… in a private chat: say what the bot can read."""
    who = await caller(update, context)
    message = update.effective_message
    if message is not None and message.text is not None:
        # a text of invisible characters only, emptied by bot/sanitize.py: nothing to read
        await reply(update, t(who.lang, "review_empty"))
        return
    await reply(update, t(who.lang, "non_text"))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any button press no other handler claims (old bot versions, forged data)."""
    query = update.callback_query
    if query is not None:
        who = await caller(update, context)
        await query.answer(t(who.lang, "button_stale"), show_alert=True)
