"""Reviews: plain text in a private chat, or /review (text or as a reply) anywhere."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Chat, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot.handlers.common import caller, edit_ignoring_unchanged, quote, reply, services
from bot.services.sentiment import ReviewRefusal, ReviewVerdict
from bot.texts import plural, t

log = logging.getLogger(__name__)
LABEL_EMOJI = {"pos": "😊", "neu": "😐", "neg": "😞"}
# Per chat (chat_data), which bot message answered which review, so an edited review updates
# its answer: {review message id: (answer message id, when it was sent, time.time())}, oldest
# first. At most this many per chat, and none older than Telegram lets a bot edit a message.
REMEMBERED_REPLIES = 200
REPLIES_KEY = "review_replies"
EDITABLE_SECONDS = 48 * 3600  # Telegram: a bot's message can be edited for 48 hours
PRUNE_REPLIES_EVERY = 3600  # seconds; the sweep that empties the chats that went quiet
PRUNE_REPLIES_JOB = "prune-review-replies"
TYPING_AFTER = 1.0  # seconds a reading may take before "typing…" is shown


UNSURE_BELOW = 0.6  # calibrated confidence under which the reply says plainly it is unsure


def format_verdict(verdict: ReviewVerdict, lang: str) -> str:
    """Verdict in plain words, calibrated confidence, and the user's own words that decided it.

    Which model read the text is not shown here (it is in /about): users act on the verdict,
    the confidence and the reasons, not on architecture names.
    """
    reading = verdict.reading
    if not reading.judgeable:
        return t(lang, "review_nothing")
    label = t(lang, f"label_{reading.label}")
    emoji = LABEL_EMOJI.get(reading.label, "🤔")
    confidence = round(reading.confidence * 100)
    if reading.confidence >= UNSURE_BELOW:
        lines = [t(lang, "review_verdict", emoji=emoji, label=label, confidence=confidence)]
    else:
        runner_up = sorted(reading.probabilities, key=reading.probabilities.__getitem__)[-2]
        lines = [
            t(lang, "review_verdict_unsure", label=label, confidence=confidence),
            t(lang, "review_could_be", other=t(lang, f"label_{runner_up}").lower()),
        ]
    if reading.reasons:
        quoted = ", ".join(
            f"«{quote(r)}»" if lang == "ru" else f"“{quote(r)}”" for r in reading.reasons
        )
        lines.append(t(lang, "review_why", words=quoted))
    elif reading.label == "neu" and reading.confidence >= UNSURE_BELOW:
        lines.append(t(lang, "review_no_strong_words"))
    if reading.truncated:
        lines.append(plural(lang, "review_truncated", reading.n_tokens, tokens=reading.n_tokens))
    return "\n".join(lines)


def command_text(message: Message) -> str:
    """What follows ``/review`` (newlines kept), else the text of the replied-to message."""
    own = (message.text or "").split(maxsplit=1)
    text = own[1] if len(own) > 1 else ""
    if not text.strip() and message.reply_to_message is not None:
        replied = message.reply_to_message
        text = replied.text or replied.caption or ""
    return text


async def review_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text in a private chat is read as a review (edits update the earlier answer)."""
    message = update.effective_message
    if message is not None:
        await answer_review(update, context, message.text or "")


async def review_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/review <text>, or /review sent as a reply to a message; works in groups."""
    message = update.effective_message
    if message is None:
        return
    text = command_text(message)
    if not text.strip():
        who = await caller(update, context)
        await reply(update, t(who.lang, "review_usage"))
        return
    await answer_review(update, context, text)


@asynccontextmanager
async def typing_if_slow(chat: Chat, after: float = TYPING_AFTER) -> AsyncIterator[None]:
    """Show "typing…" only if the block is still running ``after`` seconds in.

    The action costs one of the ~30 sends a second the bot may make, and a reading usually
    takes well under a second; it is a courtesy for a long review on a busy machine. A client
    or server that refuses it must not cost the answer.
    """

    async def show_typing() -> None:
        await asyncio.sleep(after)
        try:
            await chat.send_action(ChatAction.TYPING)
        except TelegramError:
            log.debug("send_chat_action failed", exc_info=True)

    task = asyncio.create_task(show_typing())
    try:
        yield
    finally:
        task.cancel()


async def answer_review(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    who = await caller(update, context)
    message = update.effective_message
    assert message is not None
    try:
        async with typing_if_slow(message.chat):
            verdict = await services(context).sentiment.analyse(text)
        answer = format_verdict(verdict, who.lang)
    except ReviewRefusal as refusal:
        answer = t(who.lang, f"review_{refusal.kind}")

    # An edited review updates the answer it already got instead of adding an unrelated one.
    remembered: dict[int, tuple[int, float]] = context.chat_data.setdefault(REPLIES_KEY, {})
    prune_replies(remembered, time.time())
    if update.edited_message is not None and message.message_id in remembered:
        try:  # the same verdict as before edits nothing, and that is fine
            await edit_ignoring_unchanged(
                context.bot.edit_message_text(
                    answer,
                    chat_id=message.chat_id,
                    message_id=remembered[message.message_id][0],
                )
            )
            return
        except BadRequest as error:
            # The earlier answer is gone (deleted, too old to edit): answer afresh below.
            log.debug("earlier review answer not editable: %s", error)
    sent = await message.reply_text(answer, do_quote=True)
    # fetched again: the sweep may have dropped this chat's data while the reply was sent
    remembered = context.chat_data.setdefault(REPLIES_KEY, {})
    remembered.pop(message.message_id, None)  # re-inserted last: the dict stays oldest first
    remembered[message.message_id] = (sent.message_id, time.time())
    prune_replies(remembered, time.time())


def prune_replies(remembered: dict[int, tuple[int, float]], now: float) -> None:
    """Forget answers too old to edit and all but the newest ``REMEMBERED_REPLIES``."""
    while remembered:
        oldest = next(iter(remembered))
        if len(remembered) <= REMEMBERED_REPLIES and now - remembered[oldest][1] < EDITABLE_SECONDS:
            break
        del remembered[oldest]


async def prune_replies_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue sweep over every chat's data: a chat that went quiet is not remembered forever
    (its answers age out, and a chat left with no data at all is dropped)."""
    application = context.application
    now = time.time()
    for chat_id, data in list(application.chat_data.items()):
        remembered = data.get(REPLIES_KEY)
        if remembered is not None:
            prune_replies(remembered, now)
            if not remembered:
                del data[REPLIES_KEY]
        if not data:
            application.drop_chat_data(chat_id)


def schedule_reply_pruning(app: Application) -> None:
    """Start-up hook: sweep every ``PRUNE_REPLIES_EVERY`` seconds."""
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            prune_replies_job,
            interval=PRUNE_REPLIES_EVERY,
            first=PRUNE_REPLIES_EVERY,
            name=PRUNE_REPLIES_JOB,
        )
