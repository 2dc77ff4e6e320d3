"""Reviews: plain text in a private chat, or /review (text or as a reply) anywhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from telegram import Chat, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot.db.models import utcnow
from bot.handlers.common import caller, edit_ignoring_unchanged, quote, reply, services
from bot.instances import schedule_shared_job
from bot.services.sentiment import ReviewRefusal, ReviewVerdict
from bot.texts import plural, t

log = logging.getLogger(__name__)
LABEL_EMOJI = {"pos": "😊", "neu": "😐", "neg": "😞"}
# Which bot message answered which review, so an edited review updates its answer: in the
# database (review_replies), so the instance that handles the edit need not be the one that
# answered. At most this many per chat, and none older than Telegram lets a bot edit a message
# (the hourly pruning, run by one instance, drops those).
REMEMBERED_REPLIES = 200
EDITABLE = timedelta(hours=48)  # Telegram: a bot's message can be edited for 48 hours
EDITABLE_SECONDS = EDITABLE.total_seconds()
PRUNE_REPLIES_EVERY = timedelta(hours=1)  # once per hour across instances
PRUNE_REPLIES_CHECK = timedelta(minutes=5)  # how often each instance asks whether it is due
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
    replies = services(context).review_replies
    chat_id = message.chat_id
    if update.edited_message is not None:
        earlier = await replies.answer_to(chat_id, message.message_id, utcnow() - EDITABLE)
        if earlier is not None:
            try:  # the same verdict as before edits nothing, and that is fine
                await edit_ignoring_unchanged(
                    context.bot.edit_message_text(answer, chat_id=chat_id, message_id=earlier)
                )
                return
            except BadRequest as error:
                # The earlier answer is gone (deleted, too old to edit): answer afresh below.
                log.debug("earlier review answer not editable: %s", error)
    sent = await message.reply_text(answer, do_quote=True)
    await replies.remember(chat_id, message.message_id, sent.message_id)


async def prune_replies(app: Application) -> None:
    """Forget the answers too old to edit, in every chat (quiet ones too)."""
    removed = await app.bot_data["services"].review_replies.prune(utcnow() - EDITABLE)
    if removed:
        log.info("forgot %d review answers too old to edit", removed)


def schedule_reply_pruning(app: Application) -> None:
    """Start-up hook: one instance prunes every ``PRUNE_REPLIES_EVERY``."""
    schedule_shared_job(
        app, PRUNE_REPLIES_JOB, PRUNE_REPLIES_EVERY, prune_replies, PRUNE_REPLIES_CHECK
    )
