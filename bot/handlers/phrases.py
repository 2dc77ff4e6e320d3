"""/phrase [voice] [start]: three lines in a voice, with ⭐ per line, 🔄 and voice switches.

Answers are stored like /name answers (``FavoritesService.record_phrases``), so the buttons
carry ids only:

* ``fav:<generation_id>:<index>``: ⭐, the favourites handler saves phrase ``index``
* ``phrmore:<generation_id>``: 🔄 three more with the stored voice, start and temperature
* ``phrvoice:<generation_id>:<voice>``: the stored start and temperature in another voice

The voice in a button is checked against the loaded voices, and a generation id only counts
in the chat it was shown in and when it holds phrases: anything else gets the "out of date"
alert and changes nothing.
"""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.db.favorites import GenerationRecord
from bot.db.models import PHRASE_KIND
from bot.handlers.common import button_match, caller, owner_id, quote, reply, services
from bot.handlers.favorites import SAVE_MARK
from bot.services.phrases import PhraseBatch, PhraseRequestError
from bot.texts import format_temperature, t, voice_title

PHRASE_MORE_DATA = re.compile(r"phrmore:([0-9]{1,18})\Z")
PHRASE_VOICE_DATA = re.compile(r"phrvoice:([0-9]{1,18}):([a-z]{1,16})\Z")
VOICES_PER_ROW = 4
TAGS = re.compile(r"<[^>]+>")


def format_phrases(batch: PhraseBatch, lang: str, requested: int) -> str:
    """A header naming the voice, then the numbered lines (HTML-escaped)."""
    voice = html.escape(voice_title(lang, batch.voice))
    temperature = format_temperature(batch.temperature)
    if not batch.phrases:
        return t(lang, "phrase_none", start=quote(batch.start))
    if batch.start:
        header = t(
            lang, "phrase_header", voice=voice, start=quote(batch.start), temperature=temperature
        )
    else:
        header = t(lang, "phrase_header_random", voice=voice, temperature=temperature)
    lines = [f"{number}. {html.escape(p.text)}" for number, p in enumerate(batch.phrases, 1)]
    text = f"{header}\n\n" + "\n".join(lines)
    if len(batch.phrases) < requested:
        text += "\n\n" + t(lang, "phrase_short")
    return text


def phrases_keyboard(
    generation_id: int, count: int, current: str, voices: list[str], lang: str
) -> InlineKeyboardMarkup:
    """⭐ 1 ⭐ 2 ⭐ 3 (they match the numbered lines), 🔄 More, then one button per voice."""
    saves = [
        InlineKeyboardButton(f"{SAVE_MARK} {i + 1}", callback_data=f"fav:{generation_id}:{i}")
        for i in range(count)
    ]
    more = [InlineKeyboardButton(t(lang, "btn_more"), callback_data=f"phrmore:{generation_id}")]
    switches = [
        InlineKeyboardButton(
            ("✓ " if voice == current else "") + voice_title(lang, voice),
            callback_data=f"phrvoice:{generation_id}:{voice}",
        )
        for voice in voices
    ]
    rows = [saves, more] if saves else [more]
    rows += [switches[i : i + VOICES_PER_ROW] for i in range(0, len(switches), VOICES_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def explain_refusal(error: PhraseRequestError, lang: str, voice: str) -> str:
    """A friendly reason in the user's language (HTML)."""
    if error.kind == "unavailable":
        return t(lang, "phrase_unavailable")
    if error.kind == "unknown_voice":
        return t(
            lang,
            "phrase_unknown_voice",
            voice=quote(voice, 24),
            voices=", ".join(error.voices) or "—",
        )
    if error.kind == "too_long":
        return t(lang, "phrase_too_long", limit=error.limit)
    title = html.escape(voice_title(lang, voice))
    text = t(
        lang,
        "phrase_bad_chars" if error.chars else "phrase_bad_chars_some",
        voice=title,
        chars=" ".join(html.escape(c) for c in error.chars),
    )
    if error.suggested_voice:
        text += "\n" + t(lang, "phrase_try_voice", code=error.suggested_voice)
    return text


def plain(text: str) -> str:
    """An HTML text as plain text, for an alert (alerts show no formatting)."""
    return html.unescape(TAGS.sub("", text))


async def send_phrases(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    batch: PhraseBatch,
    lang: str,
    requested: int,
) -> None:
    """Store the answer (when it has lines) and reply to ``message`` with it and its buttons."""
    markup = None
    chat = update.effective_chat
    if batch.phrases and chat is not None:
        generation_id = await services(context).favorites.record_phrases(
            chat.id, owner_id(update), batch
        )
        voices = services(context).phrases.voices
        markup = phrases_keyboard(generation_id, len(batch.phrases), batch.voice, voices, lang)
    await message.reply_text(format_phrases(batch, lang, requested), reply_markup=markup)


async def phrase_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/phrase [voice] [start]: three lines in the voice (a random one without arguments)."""
    who = await caller(update, context)
    phrases = services(context).phrases
    args = list(context.args or [])
    asked = args[0] if args else ""
    try:
        voice = phrases.resolve_voice(asked) if args else phrases.random_voice()
        if voice is None:
            raise PhraseRequestError("unknown_voice", voices=phrases.voices)
        batch = await phrases.generate(voice, " ".join(args[1:]), who.prefs.temperature)
    except PhraseRequestError as error:
        await reply(update, explain_refusal(error, who.lang, asked if args else ""))
        return
    message = update.effective_message
    if message is not None:
        await send_phrases(update, context, message, batch, who.lang, requested=3)


async def pressed_phrases(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[GenerationRecord, Message] | None:
    """The stored /phrase answer under which a button was pressed (first group: its id), or
    None unless it holds phrases and was shown in this chat."""
    query = update.callback_query
    match = button_match(context)
    if query is None or match is None or not isinstance(query.message, Message):
        return None
    record = await services(context).favorites.generation(int(match[1]), query.message.chat.id)
    if record is None or record.kind != PHRASE_KIND:
        return None
    return record, query.message


async def _fresh(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    pressed: tuple[GenerationRecord, Message] | None,
    voice: str,
    lang: str,
) -> None:
    """Three new lines in ``voice`` with the pressed answer's start and temperature."""
    query = update.callback_query
    assert query is not None
    phrases = services(context).phrases
    if pressed is None or phrases.resolve_voice(voice) != voice:
        await query.answer(t(lang, "fav_invalid"), show_alert=True)
        return
    record, message = pressed
    try:
        batch = await phrases.generate(voice, record.prefix, record.temperature)
    except PhraseRequestError as error:  # the start cannot be written in the new voice
        await query.answer(plain(explain_refusal(error, lang, voice))[:200], show_alert=True)
        return
    if voice == record.style:
        await query.answer()
    else:
        await query.answer(t(lang, "phrase_switched", voice=voice_title(lang, voice)))
    await send_phrases(update, context, message, batch, lang, requested=3)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔄 (``phrmore:<generation_id>``): three more lines, same voice, start and temperature."""
    who = await caller(update, context)
    pressed = await pressed_phrases(update, context)
    voice = pressed[0].style if pressed is not None else ""
    await _fresh(update, context, pressed, voice, who.lang)


async def voice_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A voice switch (``phrvoice:<generation_id>:<voice>``): the same start in that voice."""
    who = await caller(update, context)
    match = button_match(context)
    pressed = await pressed_phrases(update, context)
    await _fresh(update, context, pressed, match[2] if match is not None else "", who.lang)
