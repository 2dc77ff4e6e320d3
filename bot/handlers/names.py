"""/name: parse the prefix, ask the name service, format the list."""

from __future__ import annotations

import html

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.handlers.common import caller, quote, reply, services
from bot.handlers.favorites import MORE_DATA, names_markup, parse_ids
from bot.services.names import NameBatch, NameRequestError
from bot.texts import format_temperature, style_title, t


def format_names(batch: NameBatch, lang: str, requested: int) -> str:
    values = {
        "prefix": quote(batch.prefix),
        "style": style_title(lang, batch.style),
        "temperature": format_temperature(batch.temperature),
    }
    header = t(lang, "names_header" if batch.prefix else "names_header_random", **values)
    if not batch.names:
        return t(lang, "names_none", prefix=quote(batch.prefix))
    lines = [f"{'📖' if n.is_real else '✨'} {html.escape(n.text)}" for n in batch.names]
    text = f"{header}\n\n" + "\n".join(lines)
    if len(batch.names) < requested:
        text += "\n\n" + t(lang, "names_short", found=len(batch.names))
    return text


def explain_refusal(error: NameRequestError, lang: str, style: str) -> str:
    if error.kind == "too_long":
        return t(lang, "name_too_long", limit=error.limit)
    text = t(
        lang,
        "name_bad_chars",
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


async def name_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/name [prefix]: eight names in the user's style and temperature."""
    who = await caller(update, context)
    names = services(context).names
    style = names.resolve_style(who.prefs.style, who.lang)
    prefix = " ".join(context.args or [])
    try:
        batch = await names.generate(style, prefix, who.prefs.temperature)
    except NameRequestError as error:
        await reply(update, explain_refusal(error, who.lang, style))
        return
    markup = await names_markup(update, context, batch, who.lang)
    await reply(update, format_names(batch, who.lang, requested=8), reply_markup=markup)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔄 More (``more:<generation_id>``): a fresh sample of the same request, as a new message.

    Prefix, style and temperature come from the stored generation, never from the button.
    """
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    ids = parse_ids(MORE_DATA, query.data)
    message = query.message
    record = None
    if ids is not None and message is not None:
        record = await services(context).favorites.generation(ids[0], message.chat.id)
    if record is None or not isinstance(message, Message):
        await query.answer(t(who.lang, "fav_invalid"), show_alert=True)
        return
    try:
        batch = await services(context).names.generate(
            record.style, record.prefix, record.temperature
        )
    except NameRequestError:  # the style was retired since: the button is stale
        await query.answer(t(who.lang, "fav_invalid"), show_alert=True)
        return
    await query.answer()
    markup = await names_markup(update, context, batch, who.lang)
    await message.reply_text(
        format_names(batch, who.lang, requested=8),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )
