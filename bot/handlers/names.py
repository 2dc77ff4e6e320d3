"""/name: parse the prefix, ask the name service, format the list."""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import caller, quote, reply, services
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
    await reply(update, format_names(batch, who.lang, requested=8))
