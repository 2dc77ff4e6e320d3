"""/game, /reveal, /top and the vote buttons of the real-or-invented game.

Callback data: ``game:<round_id>:real`` or ``game:<round_id>:fake``. Rounds, votes and scores
are in the database. The round's own timer (a JobQueue job, re-armed by ``restore_timers``
when the bot starts again) reveals it on time; every instance also sweeps for open rounds past
their deadline every few seconds (``sweep_due_rounds``), so a round whose instance went away
is still revealed. The database decides which of them closes the round: one result, once.

A round ends by itself when its time is up (the round message says when). In a group only
its starter or a chat admin may end it early with /reveal, so a player cannot vote and then
reveal before the others have had their turn.
"""

from __future__ import annotations

import html
import logging
import math
import re

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, JobQueue

from bot.db.game import RoundRecord
from bot.handlers.common import button_match, caller, owner_id, reply, sender_chat, services
from bot.services.game import GAME_SECONDS, RevealResult, seconds_left
from bot.texts import style_title, t

log = logging.getLogger(__name__)

GAME_DATA = re.compile(r"game:([0-9]{1,18}):(real|fake)\Z")
SECONDS_KEY = "game_seconds"  # bot_data override of the voting time (tests use ~1 s)
SWEEP_SECONDS = 5.0  # how often each instance looks for rounds past their deadline
SWEEP_SECONDS_KEY = "game_sweep_seconds"  # bot_data override (tests)
SWEEP_JOB = "game-sweep"


def game_seconds(bot_data: dict) -> float:
    return float(bot_data.get(SECONDS_KEY, GAME_SECONDS))


def display_name(user: User | None) -> str:
    if user is None:
        return "?"
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


def round_keyboard(round_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_real"), callback_data=f"game:{round_id}:real"),
                InlineKeyboardButton(t(lang, "btn_fake"), callback_data=f"game:{round_id}:fake"),
            ]
        ]
    )


def reply_to_round(record: RoundRecord) -> ReplyParameters | None:
    """Reply to the round's message when it is known (it may have been deleted since)."""
    if not record.message_id:
        return None
    return ReplyParameters(record.message_id, allow_sending_without_reply=True)


def answer_line(record: RoundRecord) -> str:
    """ "<name> is real / was invented", in the language the round was started in."""
    key = "game_answer_real" if record.is_real else "game_answer_fake"
    return t(record.language, key, name=html.escape(record.name))


def job_name(round_id: int) -> str:
    return f"game-reveal:{round_id}"


def schedule_reveal(job_queue: JobQueue | None, round_id: int, chat_id: int, delay: float) -> None:
    """Arm the timer; a late start (slow start-up, restored round) must still fire."""
    if job_queue is None:  # python-telegram-bot installed without [job-queue]
        log.warning("no JobQueue: round %s ends only with /reveal", round_id)
        return
    job_queue.run_once(
        reveal_job,
        when=delay,
        data=round_id,
        chat_id=chat_id,
        name=job_name(round_id),
        job_kwargs={"misfire_grace_time": None},
    )


async def restore_timers(app: Application) -> None:
    """Start-up hook: re-arm the timer of every round a restart left open."""
    for record in await app.bot_data["services"].game.open_rounds():
        schedule_reveal(app.job_queue, record.id, record.chat_id, seconds_left(record.deadline))


async def sweep_due_rounds(app: Application) -> int:
    """Reveal every open round whose deadline has passed; how many this call announced.

    Any number of instances may sweep at once (and race the rounds' own timers and /reveal):
    ``reveal`` closes a round for one caller only, and only that caller announces it."""
    game = app.bot_data["services"].game
    announced = 0
    for round_id, chat_id in await game.due_rounds():
        result = await game.reveal(round_id, chat_id)
        if result is None:  # a timer, /reveal or another instance was first
            continue
        if app.job_queue is not None:
            for job in app.job_queue.get_jobs_by_name(job_name(round_id)):
                job.schedule_removal()
        try:
            await announce(app.bot, result)
        except TelegramError:  # one chat that cannot be written to must not stop the sweep
            log.warning("could not announce round %s", round_id, exc_info=True)
        announced += 1
    return announced


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback for ``sweep_due_rounds``."""
    await sweep_due_rounds(context.application)


def schedule_sweeper(app: Application) -> None:
    """Start-up hook: sweep every ``SWEEP_SECONDS`` (bot_data may shorten it)."""
    if app.job_queue is None:
        log.warning("no JobQueue: rounds past their deadline are revealed only by /reveal")
        return
    every = float(app.bot_data.get(SWEEP_SECONDS_KEY, SWEEP_SECONDS))
    app.job_queue.run_repeating(sweep_job, interval=every, first=every, name=SWEEP_JOB)


def seconds_to_go(record: RoundRecord) -> int:
    """Whole seconds until the round's timer fires (at least 1: it is still open)."""
    return max(1, math.ceil(seconds_left(record.deadline)))


async def game_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/game: open a round in this chat, or point at the one already open."""
    who = await caller(update, context)
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    style = services(context).names.resolve_style(who.prefs.style, who.lang)
    seconds = game_seconds(context.bot_data)
    game = services(context).game
    started = await game.start(
        chat.id, who.prefs.user_id, style, who.lang, seconds, who.prefs.controls
    )
    record = started.round
    if not started.created:
        text = t(who.lang, "game_already_open", seconds=seconds_to_go(record))
        await reply(update, text, reply_parameters=reply_to_round(record))
        return
    text = t(
        who.lang,
        "game_round",
        name=html.escape(record.name),
        style=style_title(who.lang, record.style),
        seconds=f"{seconds:g}",
    )
    private = chat.type == ChatType.PRIVATE
    text += " " + t(who.lang, "game_round_reveal_private" if private else "game_round_reveal_group")
    try:
        sent = await message.reply_text(text, reply_markup=round_keyboard(record.id, who.lang))
    except TelegramError:
        # Nobody can see or vote on a round without its message, and it has no timer yet:
        # roll it back, or every later /game would point at "the message above".
        await game.discard(record.id)
        raise
    topic = sent.message_thread_id if sent.is_topic_message else None
    await game.attach_message(record.id, sent.message_id, topic)
    schedule_reveal(context.job_queue, record.id, chat.id, seconds)


async def vote_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Real/Invented pressed: store (or change) the presser's vote."""
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    match = button_match(context)  # GAME_DATA
    if match is None or query.message is None:
        await query.answer(t(who.lang, "button_stale"), show_alert=True)
        return
    says_real = match.group(2) == "real"
    status = await services(context).game.vote(
        int(match.group(1)),
        query.message.chat.id,
        who.prefs.user_id,
        display_name(update.effective_user),
        says_real,
    )
    if status == "over":
        await query.answer(t(who.lang, "game_over"), show_alert=True)
    elif status == "ok":
        await query.answer(t(who.lang, "game_voted_real" if says_real else "game_voted_fake"))
    else:
        await query.answer(t(who.lang, "button_stale"), show_alert=True)


def result_text(result: RevealResult) -> str:
    record, lang = result.round, result.round.language
    lines = [answer_line(record), ""]
    right = [html.escape(v.display_name) for v in result.verdicts if v.correct]
    wrong = [html.escape(v.display_name) for v in result.verdicts if not v.correct]
    if right:
        lines.append(t(lang, "game_right", players=", ".join(right)))
    if wrong:
        lines.append(t(lang, "game_wrong", players=", ".join(wrong)))
    if not result.verdicts:
        lines.append(t(lang, "game_no_votes"))
    lines += ["", t(lang, "game_next")]
    return "\n".join(lines)


async def announce(bot: Bot, result: RevealResult) -> None:
    """Close the round message (buttons out) and post the answer and who was right, once.

    The closed round message keeps the name but not the answer: the result is a reply to it,
    so it is said in one place, and a busy chat sees it as a new message.
    """
    record = result.round
    if record.message_id is not None:
        try:
            await bot.edit_message_text(
                t(record.language, "game_closed", name=html.escape(record.name)),
                chat_id=record.chat_id,
                message_id=record.message_id,
            )
        except TelegramError:  # deleted, or too old to edit: the result message still goes out
            log.warning("could not close the message of round %s", record.id, exc_info=True)
    await bot.send_message(
        record.chat_id,
        result_text(result),
        message_thread_id=record.thread_id,  # a forum topic; a job has no message to reply in
        reply_parameters=reply_to_round(record),
    )


async def reveal_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The timer ran out; a /reveal that came first makes this a no-op."""
    job = context.job
    assert job is not None and job.chat_id is not None
    result = await services(context).game.reveal(int(job.data), job.chat_id)  # type: ignore[arg-type]
    if result is not None:
        await announce(context.bot, result)


async def may_end_early(
    update: Update, context: ContextTypes.DEFAULT_TYPE, record: RoundRecord
) -> bool:
    """Whether the sender of /reveal may end ``record`` before its timer does: whoever started
    it, a chat admin (asked with getChatMember), an anonymous admin (who writes as the group
    itself), or anyone in a private chat (the only player there)."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE or owner_id(update) == record.started_by:
        return True
    on_behalf_of = sender_chat(update)
    if on_behalf_of is not None:  # a channel is never an admin of the group; the group is
        return on_behalf_of.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        log.warning("could not check whether %s may end round %s", user.id, record.id)
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def reveal_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reveal: end this chat's open round now (works on rounds left open by a restart).

    Only the round's starter or a chat admin may; anyone else is told who can and when the
    round ends by itself."""
    who = await caller(update, context)
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    game = services(context).game
    record = await game.open_round(chat.id)
    if record is not None and not await may_end_early(update, context, record):
        text = t(who.lang, "game_reveal_not_allowed", seconds=seconds_to_go(record))
        await reply(update, text, reply_parameters=reply_to_round(record))
        return
    result = None if record is None else await game.reveal(record.id, chat.id)
    if result is None:  # no round, or the timer closed it a moment ago
        await reply(update, t(who.lang, "game_no_round"))
        return
    if context.job_queue is not None:
        for job in context.job_queue.get_jobs_by_name(job_name(result.round.id)):
            job.schedule_removal()
    await announce(context.bot, result)


async def top_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/top: this chat's ten best players."""
    who = await caller(update, context)
    chat = update.effective_chat
    if chat is None:
        return
    board = await services(context).game.leaderboard(chat.id)
    if not board:
        await reply(update, t(who.lang, "top_empty"))
        return
    lines = [t(who.lang, "top_header"), ""]
    for place, score in enumerate(board, start=1):
        lines.append(
            t(
                who.lang,
                "top_line",
                place=place,
                player=html.escape(score.display_name),
                points=score.points,
                rounds=score.rounds,
            )
        )
    await reply(update, "\n".join(lines))
