"""/temp, /style and /language: show the current value with buttons, or set it from text.

A settings menu is sent to one person, and its buttons say whose it is:
``temp:<value>:<owner>``, ``style:<value>:<owner>``, ``lang:<value>:<owner>`` (owner: see
``common.owner_id``). A press changes only the presser's own setting, and only a press by
the menu's owner edits the menu; anyone else's press is confirmed in a toast. A press whose
data is not a button of the message it came from (forged onto a /name answer or a game round,
or from an inline-mode message, which has no menu) changes nothing and edits nothing.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.handlers.common import (
    button_match,
    caller,
    edit_ignoring_unchanged,
    quote,
    reply,
    services,
)
from bot.services.settings import TEMPERATURE_PRESETS, parse_temperature
from bot.texts import LANGUAGES, format_temperature, style_title, t

# kind, value, owner; menus sent before owners were added have no ":<owner>"
SETTINGS_DATA = re.compile(r"(temp|style|lang):([^:]{1,16})(?::(-?[0-9]{1,20}))?\Z")


def choice_button(label: str, chosen: bool, data: str) -> InlineKeyboardButton:
    """One option of a settings keyboard; the current value carries a ✓."""
    return InlineKeyboardButton(("✓ " if chosen else "") + label, callback_data=data)


def temperature_keyboard(current: float, owner: int) -> InlineKeyboardMarkup:
    buttons = [
        choice_button(
            format_temperature(value), abs(value - current) < 1e-9, f"temp:{value}:{owner}"
        )
        for value in TEMPERATURE_PRESETS
    ]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:]])


def style_keyboard(styles: list[str], current: str, lang: str, owner: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[choice_button(style_title(lang, s), s == current, f"style:{s}:{owner}") for s in styles]]
    )


LANGUAGE_LABELS = {"en": "English", "ru": "Русский"}


def language_keyboard(current: str, owner: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[choice_button(LANGUAGE_LABELS[c], c == current, f"lang:{c}:{owner}") for c in LANGUAGES]]
    )


def carries_button(message: Message, data: str) -> bool:
    """Whether ``data`` is the data of one of the message's buttons as it is now."""
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup is not None else ()
    return any(button.callback_data == data for row in rows for button in row)


def menu_owner(message: Message, owner: str | None) -> int | None:
    """Whom the settings menu was sent to: from its data, or (a menu from before owners were
    in the data) the user of a private chat; None when it cannot be told."""
    if owner is not None:
        return int(owner)
    return message.chat.id if message.chat.type == ChatType.PRIVATE else None


async def temp_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/temp shows the temperature with presets; /temp 0.8 (or 0,8) sets it."""
    who = await caller(update, context)
    current = who.prefs.temperature
    raw = " ".join(context.args or [])
    if not raw:
        await reply(
            update,
            t(who.lang, "temp_current", temperature=format_temperature(current)),
            reply_markup=temperature_keyboard(current, who.prefs.user_id),
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
            reply_markup=style_keyboard(names.styles, current, who.lang, who.prefs.user_id),
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
            update,
            t(who.lang, "language_current"),
            reply_markup=language_keyboard(who.lang, who.prefs.user_id),
        )
        return
    if raw not in LANGUAGES:
        await reply(update, t(who.lang, "language_invalid"))
        return
    await services(context).settings.update(who.prefs.user_id, language=raw)
    await reply(update, t(raw, "language_set"))


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Presses on temp:/style:/lang: buttons (see the module docstring for whose they are).

    Anything forged gets an alert and changes nothing."""
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    match = button_match(context)  # SETTINGS_DATA
    message = query.message
    if (
        match is None
        or not isinstance(message, Message)  # an inline-mode message: no menu of ours
        or not carries_button(message, query.data or "")
    ):
        await query.answer(t(who.lang, "button_stale"), show_alert=True)
        return
    kind, raw, owner = match.groups()
    presser = who.prefs.user_id
    repo = services(context).settings
    names = services(context).names
    if kind == "temp" and (value := parse_temperature(raw)) is not None:
        await repo.update(presser, temperature=value)
        text = t(who.lang, "temp_set", temperature=format_temperature(value))
        markup = temperature_keyboard(value, presser)
    elif kind == "style" and raw in names.styles:
        await repo.update(presser, style=raw)
        text = t(who.lang, "style_set", style=style_title(who.lang, raw))
        markup = style_keyboard(names.styles, raw, who.lang, presser)
    elif kind == "lang" and raw in LANGUAGES:
        await repo.update(presser, language=raw)
        text, markup = t(raw, "language_set"), language_keyboard(raw, presser)
    else:
        await query.answer(t(who.lang, "button_stale"), show_alert=True)
        return
    if menu_owner(message, owner) != presser:
        # someone else's menu (in a group): their message stays as it is
        lang = raw if kind == "lang" else who.lang
        await query.answer(f"{text}\n{t(lang, 'settings_yours_only')}")
        return
    await query.answer()
    try:  # the chosen value again edits nothing
        await edit_ignoring_unchanged(query.edit_message_text(text, reply_markup=markup))
    except BadRequest as error:  # the menu is gone
        if "not found" not in str(error).lower():
            raise
