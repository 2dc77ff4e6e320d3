"""Reviews: plain text in a private chat, or /review (text or as a reply) anywhere."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.handlers.common import caller, reply, services
from bot.services.sentiment import ReviewRefusal, ReviewVerdict
from bot.texts import t

log = logging.getLogger(__name__)
LABEL_EMOJI = {"pos": "😊", "neu": "😐", "neg": "😞"}
REMEMBERED_REPLIES = 200  # per chat: which bot message answered which review (for edits)


def format_verdict(verdict: ReviewVerdict, lang: str) -> str:
    result = verdict.result
    text = t(
        lang,
        "review_verdict",
        emoji=LABEL_EMOJI.get(result.label, "🤔"),
        label=t(lang, f"label_{result.label}"),
        confidence=round(result.confidence * 100),
        model=verdict.model_name,
    )
    if result.confidence < 0.6:
        text += "\n" + t(lang, "review_unsure")
    if result.truncated:
        text += "\n" + t(lang, "review_truncated", tokens=result.n_tokens)
    return text


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


async def answer_review(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    who = await caller(update, context)
    message = update.effective_message
    assert message is not None
    try:  # "typing…" is a courtesy; a client or server that refuses it must not cost the answer
        await message.chat.send_action(ChatAction.TYPING)
    except TelegramError:
        log.debug("send_chat_action failed", exc_info=True)
    try:
        verdict = await services(context).sentiment.analyse(text)
        answer = format_verdict(verdict, who.lang)
    except ReviewRefusal as refusal:
        answer = t(who.lang, f"review_{refusal.kind}")

    # An edited review updates the answer it already got instead of adding an unrelated one.
    remembered: dict[int, int] = context.chat_data.setdefault("review_replies", {})
    if update.edited_message is not None and message.message_id in remembered:
        try:
            await context.bot.edit_message_text(
                answer,
                chat_id=message.chat_id,
                message_id=remembered[message.message_id],
                parse_mode=ParseMode.HTML,
            )
        except BadRequest as error:  # same verdict as before: nothing to change
            if "not modified" not in str(error).lower():
                raise
        return
    sent = await message.reply_text(answer, parse_mode=ParseMode.HTML, do_quote=True)
    remembered[message.message_id] = sent.message_id
    while len(remembered) > REMEMBERED_REPLIES:
        remembered.pop(next(iter(remembered)))
