"""Inline mode: ``@bot Ser`` in any chat offers names to send, in the user's own settings.

A query that starts with a voice and a space (``homer Mmm``, ``толстой Анна``, ``moe ``)
offers /phrase lines in that voice instead, through the same debounce, cache and rate limit.
"""

from __future__ import annotations

import html
import re

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.ext import ContextTypes

from bot.handlers.common import admit, caller, fair_use, owner_id, quote, services
from bot.services.names import NameBatch, NameRequestError
from bot.services.phrases import PhraseBatch, PhraseRequestError
from bot.texts import style_title, t, voice_title

INLINE_COUNT = 10
INLINE_PHRASES = 5
PHRASE_PARAMETER = "phrase"  # /start parameter of a refused phrase query's button
# the first word of a query, when a space follows it: a voice name makes it a phrase query
VOICE_WORD = re.compile(r"^\s*(\S+)\s+(.*)$", re.DOTALL)
# Results depend on the user's settings and are random: cache them briefly and per user only.
INLINE_CACHE_SECONDS = 5
TAGS = re.compile(r"<[^>]+>")
# "f:Ma", "м: Ан", "♀Ma": a sex marker in front of the prefix, for this query only. A letter
# needs its colon, so "Max" stays a prefix.
SEX_MARKER = re.compile(r"^\s*(?:([fmжм])\s*:|([♀♂])\s*:?)\s*(.*)$", re.IGNORECASE | re.DOTALL)
MARKER_SEX = {"f": "f", "ж": "f", "♀": "f", "m": "m", "м": "m", "♂": "m"}


def split_marker(query: str) -> tuple[str | None, str]:
    """(sex or None, the rest): 'f:Ma' → ('f', 'Ma'); 'Ma' → (None, 'Ma')."""
    match = SEX_MARKER.match(query)
    if match is None:
        return None, query
    return MARKER_SEX[(match[1] or match[2]).lower()], match[3]


REFUSAL_PREFIX = "why-"


def refusal_parameter(error: NameRequestError) -> str:
    """/start parameter naming why a query was refused: 'why-bad_chars-ru', 'why-too_long-15'.

    Deep-link parameters allow only A–Z a–z 0–9 _ -, so the characters themselves stay out.
    """
    detail = error.suggested_style or (str(error.limit) if error.limit else "")
    return f"{REFUSAL_PREFIX}{error.kind}" + (f"-{detail}" if detail else "")


def refusal_from_parameter(parameter: str) -> NameRequestError | None:
    """The refusal a /start parameter describes, or None when it is not one of ours."""
    if not parameter.startswith(REFUSAL_PREFIX):
        return None
    kind, _, detail = parameter[len(REFUSAL_PREFIX) :].partition("-")
    if kind not in NameRequestError.KINDS:
        return None
    if kind == "too_long":
        return NameRequestError(kind, limit=int(detail) if detail.isdigit() else 0)
    return NameRequestError(kind, suggested_style=detail if detail.isalpha() else None)


def split_voice(context: ContextTypes.DEFAULT_TYPE, query: str) -> tuple[str, str] | None:
    """(voice, start) when the query starts with a voice name and a space, else None."""
    match = VOICE_WORD.match(query)
    if match is None:
        return None
    voice = services(context).phrases.resolve_voice(match[1])
    return None if voice is None else (voice, match[2])


async def answer_phrases(
    update: Update, context: ContextTypes.DEFAULT_TYPE, voice: str, start: str
) -> None:
    """Up to five lines in ``voice``; a refused start gets the explaining button."""
    query = update.inline_query
    assert query is not None
    kept = fair_use(context)
    who = await caller(update, context)
    request = ("phrase", voice, start, who.prefs.temperature)
    batch: PhraseBatch | None = kept.inline_answers.get(request)
    if batch is None:
        if not await admit(update, context, who.lang):
            return
        try:
            batch = await services(context).phrases.generate(
                voice, start, who.prefs.temperature, count=INLINE_PHRASES
            )
        except PhraseRequestError:
            await query.answer(
                [],
                cache_time=INLINE_CACHE_SECONDS,
                is_personal=True,
                button=InlineQueryResultsButton(
                    text=t(who.lang, "inline_phrase_bad_button"),
                    start_parameter=PHRASE_PARAMETER,
                ),
            )
            return
        kept.inline_answers.put(request, batch)
    title = voice_title(who.lang, voice)
    results = [
        InlineQueryResultArticle(
            id=f"p{index}",
            title=phrase.text[:100],
            description=t(who.lang, "inline_phrase", voice=title),
            input_message_content=InputTextMessageContent(
                f"{html.escape(phrase.text, quote=False)}\n— <i>{html.escape(title)}</i>"
            ),
        )
        for index, phrase in enumerate(batch.phrases)
    ]
    if not results:
        none = t(who.lang, "phrase_none", start=quote(batch.start))
        results = [nothing_found(t(who.lang, "inline_phrase_none_title"), none)]
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=True)


def nothing_found(title: str, reply: str) -> InlineQueryResultArticle:
    """The one result offered when sampling found nothing: ``reply`` (HTML) says why."""
    return InlineQueryResultArticle(
        id="none",
        title=title,
        description=plain(reply)[:200],
        input_message_content=InputTextMessageContent(reply),
    )


def plain(text: str) -> str:
    """An HTML reply as plain text, for an inline result's one-line description."""
    return html.unescape(TAGS.sub("", text)).replace("\n", " ")


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Up to ten names; bad input gets an empty answer whose button explains it privately.

    A query per keystroke is the norm here, so (bot/throttle.py) a query that the same user
    follows with another within ``INLINE_PAUSE`` is dropped unanswered (their client shows the
    newer one), an identical request made lately is answered with the names made for it then,
    and only a query that runs the model counts against the user's rate limit.
    """
    query = update.inline_query
    assert query is not None
    kept = fair_use(context)
    if not await kept.inline_pause.settled(owner_id(update)):
        return
    phrase_request = split_voice(context, query.query)
    if phrase_request is not None:
        await answer_phrases(update, context, *phrase_request)
        return
    who = await caller(update, context)
    names = services(context).names
    style = names.resolve_style(who.prefs.style, who.lang)
    sex, prefix = split_marker(query.query)
    controls = dict(who.prefs.controls)
    if sex is not None:
        controls["sex"] = sex
    request = (style, prefix, who.prefs.temperature, tuple(sorted(controls.items())))
    batch: NameBatch | None = kept.inline_answers.get(request)
    if batch is None:
        if not await admit(update, context, who.lang):
            return
        try:
            batch = await names.generate(
                style, prefix, who.prefs.temperature, count=INLINE_COUNT, attributes=controls
            )
        except NameRequestError as error:
            # No article to tap (it would post an error into someone else's chat): a button
            # above the (empty) results opens a private chat with the bot, which explains there.
            await query.answer(
                [],
                cache_time=INLINE_CACHE_SECONDS,
                is_personal=True,
                button=InlineQueryResultsButton(
                    text=t(who.lang, "inline_bad_button"),
                    start_parameter=refusal_parameter(error),
                ),
            )
            return
        kept.inline_answers.put(request, batch)
    if batch.names:
        title_style = style_title(who.lang, batch.style)
        results = [
            InlineQueryResultArticle(
                id=f"n{index}",
                title=name.text,
                description=t(
                    who.lang, "inline_real" if name.is_real else "inline_new", style=title_style
                ),
                input_message_content=InputTextMessageContent(html.escape(name.text, quote=False)),
            )
            for index, name in enumerate(batch.names)
        ]
    else:
        none = t(who.lang, "names_none", prefix=quote(batch.prefix))
        results = [nothing_found(t(who.lang, "inline_none_title"), none)]
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=True)
