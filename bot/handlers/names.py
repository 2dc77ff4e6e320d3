"""/name and /fullname: parse the prefix, ask the name service, format the list.

The answer's keyboard carries the controls (sex, and era or race where the style has them):
pressing one saves it as the presser's setting and sends a fresh list made with it, like 🔄.
Buttons say ``ctl:<generation_id>:<control>:<value>``; the value is checked against what the
answer's style offers, and everything else (prefix, style, temperature) comes from the stored
answer, never from the button.
"""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.db.favorites import GenerationRecord
from bot.db.models import NAME_KIND
from bot.handlers.common import button_match, caller, owner_id, quote, reply, services
from bot.handlers.favorites import names_keyboard
from bot.services.names import NameBatch, NameRequestError
from bot.texts import control_label, format_temperature, plural, style_title, t
from ml.names.full import FullName
from ml.names.model import ANY
from ml.names.sample import GeneratedName

MORE_DATA = re.compile(r"more:([0-9]{1,18})\Z")
CONTROL_DATA = re.compile(r"ctl:([0-9]{1,18}):(sex|era|race|full):([a-z0-9]{1,12})\Z")


def describe_controls(batch: NameBatch, lang: str) -> str:
    """' · ♀ · 1920s · …ella · 5–7 letters' for the header: what shaped this answer."""
    parts = [control_label(lang, name, value) for name, value in sorted(batch.attributes.items())]
    shape = batch.shape
    if shape.ends_with:
        parts.append(t(lang, "shape_ends", ending=quote(shape.ends_with)))
    if shape.min_len and shape.min_len == shape.max_len:
        parts.append(plural(lang, "shape_letters", shape.min_len, value=shape.min_len))
    elif shape.min_len or shape.max_len:
        low = shape.min_len or 1
        high = shape.max_len or "…"
        parts.append(t(lang, "shape_range", low=low, high=high))
    return "".join(f" · {part}" for part in parts)


def format_name_line(name: GeneratedName | FullName) -> str:
    """📖/✨ before a name; a full name marks each invented part with ✨ after it."""
    if isinstance(name, FullName):
        parts = [html.escape(p.text) + ("" if p.is_real else "✨") for p in name.parts]
        return "👤 " + " ".join(parts)
    return f"{'📖' if name.is_real else '✨'} {html.escape(name.text)}"


def format_names(batch: NameBatch, lang: str, requested: int) -> str:
    values = {
        "prefix": quote(batch.prefix),
        "style": style_title(lang, batch.style) + describe_controls(batch, lang),
        "temperature": format_temperature(batch.temperature),
    }
    kind = "fullnames" if batch.full else "names"
    header = t(lang, f"{kind}_header" if batch.prefix else f"{kind}_header_random", **values)
    if not batch.names:
        return t(lang, "names_none", prefix=quote(batch.prefix))
    lines = [format_name_line(name) for name in batch.names]
    text = f"{header}\n\n" + "\n".join(lines)
    if batch.full:
        text += "\n\n" + t(lang, "fullnames_legend")
    if len(batch.names) < requested:
        text += "\n\n" + plural(lang, "names_short", len(batch.names), found=len(batch.names))
    return text


def cycle(values: list[str], current: str, step: int) -> str:
    """The value ``step`` away from ``current`` in ``values`` + any, wrapping around."""
    ring = [ANY, *values]
    index = ring.index(current) if current in ring else 0
    return ring[(index + step) % len(ring)]


def control_rows(
    generation_id: int, controls: dict[str, list[str]], batch: NameBatch, lang: str
) -> list[list[InlineKeyboardButton]]:
    """Sex as three buttons; era and race as ◀ value ▶ (the middle one resets to any)."""

    def button(label: str, name: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=f"ctl:{generation_id}:{name}:{value}")

    rows: list[list[InlineKeyboardButton]] = []
    current = batch.attributes
    if "sex" in controls:
        rows.append(
            [
                button(
                    ("✓ " if current.get("sex", ANY) == v else "") + control_label(lang, "sex", v),
                    "sex",
                    v,
                )
                for v in [*controls["sex"], ANY]
            ]
        )
    for name in ("era", "race"):
        if name in controls:
            value = current.get(name, ANY)
            rows.append(
                [
                    button("◀", name, cycle(controls[name], value, -1)),
                    button(control_label(lang, name, value), name, ANY),
                    button("▶", name, cycle(controls[name], value, +1)),
                ]
            )
    return rows


async def names_markup(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    batch: NameBatch,
    lang: str,
) -> InlineKeyboardMarkup | None:
    """Store the answer server-side and build its buttons (none for an empty answer)."""
    chat = update.effective_chat
    if not batch.names or chat is None or update.effective_user is None:
        return None
    names = services(context).names
    generation_id = await services(context).favorites.record(chat.id, owner_id(update), batch)
    keyboard = names_keyboard(generation_id, [name.text for name in batch.names], lang)
    rows = [list(row) for row in keyboard.inline_keyboard]
    rows += control_rows(generation_id, names.controls(batch.style), batch, lang)
    if names.has_full_names(batch.style):
        full = "0" if batch.full else "1"
        label = t(lang, "btn_single" if batch.full else "btn_full")
        rows.append([InlineKeyboardButton(label, callback_data=f"ctl:{generation_id}:full:{full}")])
    return InlineKeyboardMarkup(rows)


def explain_refusal(error: NameRequestError, lang: str, style: str) -> str:
    if error.kind == "too_long":
        return t(lang, "name_too_long", limit=error.limit)
    if error.kind == "no_full":
        return t(lang, "name_no_full", style=style_title(lang, style))
    if error.kind == "bad_shape":
        return t(lang, "name_bad_shape")
    text = t(
        lang,
        "name_bad_chars" if error.chars else "name_bad_chars_some",
        style=style_title(lang, style),
        chars=" ".join(html.escape(c) for c in error.chars),
    )
    if error.suggested_style:
        suggestion = t(
            lang,
            "name_try_style",
            suggested=style_title(lang, error.suggested_style),
            code=error.suggested_style,
        )
        return f"{text}\n{suggestion}"
    return f"{text}\n{t(lang, 'name_letters_only')}"


async def _answer_names(update: Update, context: ContextTypes.DEFAULT_TYPE, full: bool) -> None:
    who = await caller(update, context)
    names = services(context).names
    style = names.resolve_style(who.prefs.style, who.lang)
    prefix = " ".join(context.args or [])
    try:
        batch = await names.generate(
            style, prefix, who.prefs.temperature, attributes=who.prefs.controls, full=full
        )
    except NameRequestError as error:
        await reply(update, explain_refusal(error, who.lang, style))
        return
    markup = await names_markup(update, context, batch, who.lang)
    await reply(update, format_names(batch, who.lang, requested=8), reply_markup=markup)


async def name_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/name [prefix]: eight names in the user's style, temperature and controls."""
    await _answer_names(update, context, full=False)


async def fullname_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/fullname [prefix]: eight full names (first name + surname; ru adds a patronymic)."""
    await _answer_names(update, context, full=True)


async def _send_fresh(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    lang: str,
    record: GenerationRecord,
    attributes: dict[str, str],
    full: bool,
) -> bool:
    """A new list for a stored answer's request (with these controls) under ``message``.

    False when the request is refused now (the style was retired since: the button is stale).
    """
    try:
        batch = await services(context).names.generate(
            record.style, record.prefix, record.temperature, attributes=attributes, full=full
        )
    except NameRequestError:
        return False
    markup = await names_markup(update, context, batch, lang)
    await message.reply_text(format_names(batch, lang, requested=8), reply_markup=markup)
    return True


async def pressed_answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[GenerationRecord, Message] | None:
    """The stored answer under which 🔄 or a control was pressed (MORE_DATA, CONTROL_DATA: the
    first group is its generation id), or None unless it holds names (a /phrase answer's id
    in a forged button is refused too) and was shown in this chat."""
    query = update.callback_query
    match = button_match(context)
    if query is None or match is None or not isinstance(query.message, Message):
        return None
    record = await services(context).favorites.generation(int(match[1]), query.message.chat.id)
    return None if record is None or record.kind != NAME_KIND else (record, query.message)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔄 More (``more:<generation_id>``): a fresh sample of the same request, as a new message.

    Prefix, style, temperature and controls come from the stored generation, never the button.
    """
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    pressed = await pressed_answer(update, context)
    if pressed is None:
        await query.answer(t(who.lang, "fav_invalid"), show_alert=True)
        return
    record, message = pressed
    await query.answer()
    if not await _send_fresh(
        update, context, message, who.lang, record, record.attributes, record.full
    ):
        await message.reply_text(t(who.lang, "fav_invalid"))


async def control_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """♀/♂/any, ◀ era ▶, ◀ race ▶ and full/single names under an answer.

    Sex, era and race become the presser's settings (so /name, inline mode and /game follow
    them); the full/single switch is per request. A fresh list is sent either way.
    """
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    pressed = await pressed_answer(update, context)
    match = button_match(context)
    if pressed is None or match is None:
        await query.answer(t(who.lang, "fav_invalid"), show_alert=True)
        return
    record, message = pressed
    name, value = match[2], match[3]
    names = services(context).names
    attributes = dict(record.attributes)
    full = record.full
    if name == "full":
        if value not in ("0", "1") or (value == "1" and not names.has_full_names(record.style)):
            await query.answer(t(who.lang, "button_stale"), show_alert=True)
            return
        full = value == "1"
        toast = t(who.lang, "btn_full" if full else "btn_single")
    else:
        offered = names.controls(record.style).get(name)
        if offered is None or (value != ANY and value not in offered):
            await query.answer(t(who.lang, "button_stale"), show_alert=True)
            return
        await services(context).settings.update(
            who.prefs.user_id, **{name: None if value == ANY else value}
        )
        if value == ANY:
            attributes.pop(name, None)
        else:
            attributes[name] = value
        toast = t(who.lang, "control_saved", value=control_label(who.lang, name, value))
    await query.answer(toast)
    if not await _send_fresh(update, context, message, who.lang, record, attributes, full):
        await message.reply_text(t(who.lang, "fav_invalid"))
