"""/temp, /style and /language: show the current value with buttons, or set it from text."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.handlers.common import caller, quote, reply, services
from bot.services.settings import TEMPERATURE_PRESETS, parse_temperature
from bot.texts import LANGUAGES, format_temperature, style_title, t


def choice_button(label: str, chosen: bool, data: str) -> InlineKeyboardButton:
    """One option of a settings keyboard; the current value carries a ✓."""
    return InlineKeyboardButton(("✓ " if chosen else "") + label, callback_data=data)


def temperature_keyboard(current: float) -> InlineKeyboardMarkup:
    buttons = [
        choice_button(format_temperature(value), abs(value - current) < 1e-9, f"temp:{value}")
        for value in TEMPERATURE_PRESETS
    ]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:]])


def style_keyboard(styles: list[str], current: str, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[choice_button(style_title(lang, s), s == current, f"style:{s}") for s in styles]]
    )


LANGUAGE_LABELS = {"en": "English", "ru": "Русский"}


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[choice_button(LANGUAGE_LABELS[c], c == current, f"lang:{c}") for c in LANGUAGES]]
    )


async def temp_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/temp shows the temperature with presets; /temp 0.8 (or 0,8) sets it."""
    who = await caller(update, context)
    current = who.prefs.temperature
    raw = " ".join(context.args or [])
    if not raw:
        await reply(
            update,
            t(who.lang, "temp_current", temperature=format_temperature(current)),
            reply_markup=temperature_keyboard(current),
        )
        return
    value = parse_temperature(raw)
    if value is None:
        await reply(
            update,
            t(who.lang, "temp_invalid", value=quote(raw), temperature=format_temperature(current)),
        )
        return
    await services(context).settings.update(who.prefs.user_id, temperature=value)
    await reply(update, t(who.lang, "temp_set", temperature=format_temperature(value)))


async def style_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/style shows the name style with buttons; /style ru sets it."""
    who = await caller(update, context)
    names = services(context).names
    current = names.resolve_style(who.prefs.style, who.lang)
    raw = " ".join(context.args or []).strip().lower()
    if not raw:
        await reply(
            update,
            t(who.lang, "style_current", style=style_title(who.lang, current)),
            reply_markup=style_keyboard(names.styles, current, who.lang),
        )
        return
    if raw not in names.styles:
        await reply(
            update,
            t(who.lang, "style_invalid", value=quote(raw), available=", ".join(names.styles)),
        )
        return
    await services(context).settings.update(who.prefs.user_id, style=raw)
    await reply(update, t(who.lang, "style_set", style=style_title(who.lang, raw)))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language shows the interface language with buttons; /language ru sets it."""
    who = await caller(update, context)
    raw = " ".join(context.args or []).strip().lower()
    if not raw:
        await reply(
            update, t(who.lang, "language_current"), reply_markup=language_keyboard(who.lang)
        )
        return
    if raw not in LANGUAGES:
        await reply(update, t(who.lang, "language_invalid"))
        return
    await services(context).settings.update(who.prefs.user_id, language=raw)
    await reply(update, t(raw, "language_set"))


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Presses on temp:/style:/lang: buttons. Anything forged gets an alert and changes nothing."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    kind, _, raw = query.data.partition(":")
    repo = services(context).settings
    names = services(context).names
    if kind == "temp" and (value := parse_temperature(raw)) is not None:
        await repo.update(who.prefs.user_id, temperature=value)
        text = t(who.lang, "temp_set", temperature=format_temperature(value))
        markup = temperature_keyboard(value)
    elif kind == "style" and raw in names.styles:
        await repo.update(who.prefs.user_id, style=raw)
        text = t(who.lang, "style_set", style=style_title(who.lang, raw))
        markup = style_keyboard(names.styles, raw, who.lang)
    elif kind == "lang" and raw in LANGUAGES:
        await repo.update(who.prefs.user_id, language=raw)
        text, markup = t(raw, "language_set"), language_keyboard(raw)
    else:
        await query.answer(t(who.lang, "button_stale"), show_alert=True)
        return
    await query.answer()
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as error:  # pressing the already-chosen value edits nothing
        if "not modified" not in str(error).lower():
            raise
