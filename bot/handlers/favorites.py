"""⭐ buttons under /name and /phrase answers, /favorites with 🗑 and paging, and /export.

Callback data carries ids only:

* ``fav:<generation_id>:<index>``: save name (or phrase) ``index`` of a stored answer to the
  presser's list
* ``more:<generation_id>``: handled in ``bot.handlers.names`` (it formats a name list)
* ``favdel:<favorite_id>:<page>``: remove one of the presser's own favourites, with undo
* ``favundo:<favorite_id>:<page>``: ↩ bring it back (offered for ``UNDO_SECONDS``)
* ``favpage:<owner_user_id>:<page>``: turn the page of a /favorites list (owner only)

Every id is checked against the database by the favourites service; whatever a modified
client sends, the worst it gets is an alert.

🗑 never deletes at once: it marks the favourite removed in the database, the list message
shows "Removed X · ↩ Undo", and a timer (a JobQueue job per message, on the instance that
showed it) deletes the name when the window closes, then shows the plain list again. Anything
else done on that message first (another 🗑, ◀ ▶) ends the window early. ↩ asks the database,
so it works on whichever instance it reaches; every instance also sweeps out removals whose
window is over (``sweep_removed``), so a name removed on an instance that went away goes too.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.db.favorites import FavoriteRecord
from bot.db.models import PHRASE_KIND
from bot.handlers.common import (
    button_match,
    caller,
    edit_ignoring_unchanged,
    reply,
    sender_chat,
    services,
)
from bot.instances import run_if_due, schedule_shared_job
from bot.services.favorites import (
    FavoritesPage,
    FavoritesService,
    SaveStatus,
    UndoStatus,
    export_csv,
    export_txt,
)
from bot.texts import style_title, t, voice_title

FAV_DATA = re.compile(r"fav:([0-9]{1,18}):([0-9]{1,3})\Z")
# favdel:<favorite_id>:<page>, favundo:<favorite_id>:<page>, favpage:<owner_user_id>:<page>
LIST_DATA = re.compile(r"fav(del|undo|page):([0-9]{1,18}):([0-9]{1,6})\Z")
UNDO_SECONDS = 10.0
UNDO_SECONDS_KEY = "fav_undo_seconds"  # bot_data override of the undo window (tests)
UNDO_JOB_PREFIX = "favundo:"  # + <chat_id>:<message_id>: a list message's window timer
SAVE_MARK, SAVED_MARK = "⭐", "✅"
EXPORT_BASENAME = "namecraft-favorites"
PRUNE_EVERY = timedelta(hours=12)  # once per 12 hours across instances (job_runs decides)
PRUNE_CHECK = timedelta(minutes=10)  # how often each instance asks whether it is due
PRUNE_JOB = "prune"
SWEEP_SECONDS_KEY = "fav_sweep_seconds"  # bot_data override of how often to sweep (tests)
SWEEP_JOB = "favorites-sweep"

PHRASE_TOAST_CHARS = 60  # a toast holds 200 characters; a phrase runs to 300
PHRASE_BUTTON_CHARS = 24  # 🗑 and ↩ buttons name a phrase by its first words

log = logging.getLogger(__name__)


def shortened(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with "…" (phrases in toasts and on buttons)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def item_label(item: FavoriteRecord) -> str:
    """How a favourite is named on its 🗑 and ↩ buttons: a name whole, a phrase shortened."""
    return shortened(item.name, PHRASE_BUTTON_CHARS) if item.kind == PHRASE_KIND else item.name


def item_key(key: str, item: FavoriteRecord) -> str:
    """The text key for a favourite: ``<key>_phrase`` for a phrase ("Фраза удалена")."""
    return f"{key}_phrase" if item.kind == PHRASE_KIND else key


def names_keyboard(generation_id: int, names: list[str], lang: str) -> InlineKeyboardMarkup:
    """One ⭐ per name, two per row, then 🔄 More."""
    buttons = [
        InlineKeyboardButton(f"{SAVE_MARK} {name}", callback_data=f"fav:{generation_id}:{i}")
        for i, name in enumerate(names)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(t(lang, "btn_more"), callback_data=f"more:{generation_id}")])
    return InlineKeyboardMarkup(rows)


def mark_saved(markup: InlineKeyboardMarkup, data: str) -> InlineKeyboardMarkup | None:
    """The keyboard with the pressed ⭐ turned into ✅, or None when nothing changes.

    The callback data stays, so in a group someone else can still save the same name.
    """
    changed = False
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            if button.callback_data == data and button.text.startswith(SAVE_MARK):
                button = InlineKeyboardButton(
                    SAVED_MARK + button.text[len(SAVE_MARK) :], callback_data=data
                )
                changed = True
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(rows) if changed else None


async def favorite_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """⭐ pressed: save the name into the presser's list, then show ✅ on the button."""
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    match = button_match(context)  # FAV_DATA
    if match is None or query.message is None:
        await query.answer(t(who.lang, "fav_invalid"), show_alert=True)
        return
    generation_id, index = int(match[1]), int(match[2])
    result = await services(context).favorites.save(
        generation_id, index, query.message.chat.id, who.prefs.user_id
    )
    if result.status is SaveStatus.INVALID:
        await query.answer(t(who.lang, "fav_invalid"), show_alert=True)
        return
    key = "fav_saved" if result.status is SaveStatus.SAVED else "fav_already"
    name = result.name
    if result.kind == PHRASE_KIND:
        key, name = f"{key}_phrase", shortened(name, PHRASE_TOAST_CHARS)
    await query.answer(t(who.lang, key, name=name))
    message = query.message
    # ✅ on the shared message speaks for the person who asked; anyone else's save is
    # confirmed by the toast above only, so a group never sees someone else's save as theirs
    if result.asked_by != who.prefs.user_id:
        return
    if isinstance(message, Message) and message.reply_markup is not None:
        markup = mark_saved(message.reply_markup, query.data or "")
        if markup is not None:
            await edit_ignoring_unchanged(query.edit_message_reply_markup(reply_markup=markup))


def favorites_view(
    page: FavoritesPage,
    owner_id: int,
    lang: str,
    removed: FavoriteRecord | None = None,
    undo_seconds: float = UNDO_SECONDS,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and buttons of one page of a /favorites list; with ``removed``, the page starts
    with "Removed X · ↩ Undo" and a button that brings X back."""
    notice: list[str] = []
    undo: list[list[InlineKeyboardButton]] = []
    if removed is not None:
        name = html.escape(removed.name)
        notice_key = item_key("fav_removed_notice", removed)
        notice = [t(lang, notice_key, name=name, seconds=f"{undo_seconds:g}"), ""]
        data = f"favundo:{removed.id}:{page.page}"
        label = t(lang, "btn_undo", name=item_label(removed))
        undo = [[InlineKeyboardButton(label, callback_data=data)]]
    if page.total == 0:
        text = "\n".join([*notice, t(lang, "fav_empty")])
        return text, InlineKeyboardMarkup(undo) if undo else None
    lines = [
        *notice,
        t(lang, "fav_header", total=page.total, page=page.page + 1, pages=page.pages),
        "",
    ]
    buttons = []
    for number, item in enumerate(page.items, start=page.page * page.page_size + 1):
        key = "fav_line_prefix" if item.prefix else "fav_line"
        if item.kind == PHRASE_KIND:  # 💬 and the voice; the phrase shows its start itself
            key = "fav_line_phrase"
        lines.append(
            t(
                lang,
                key,
                number=number,
                name=html.escape(item.name),
                style=style_title(lang, item.style),
                voice=html.escape(voice_title(lang, item.style)),
                prefix=html.escape(item.prefix),
            )
        )
        buttons.append(
            InlineKeyboardButton(
                f"🗑 {item_label(item)}", callback_data=f"favdel:{item.id}:{page.page}"
            )
        )
    lines += ["", t(lang, "fav_hint")]
    rows = undo + [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    nav = []
    if page.page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=f"favpage:{owner_id}:{page.page - 1}"))
    if page.page < page.pages - 1:
        nav.append(InlineKeyboardButton("▶", callback_data=f"favpage:{owner_id}:{page.page + 1}"))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def favorites_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/favorites (/favourites, /fav): the first page of the caller's saved names."""
    who = await caller(update, context)
    if sender_chat(update) is not None:  # saves come from a person's ⭐; see common.owner_id
        await reply(update, t(who.lang, "fav_chat_sender"))
        return
    page = await services(context).favorites.page(who.prefs.user_id, 0)
    text, markup = favorites_view(page, who.prefs.user_id, who.lang)
    await reply(update, text, reply_markup=markup)


def undo_seconds(bot_data: dict) -> float:
    return float(bot_data.get(UNDO_SECONDS_KEY, UNDO_SECONDS))


def undo_window(bot_data: dict) -> timedelta:
    return timedelta(seconds=undo_seconds(bot_data))


def undo_job_name(chat_id: int, message_id: int) -> str:
    return f"{UNDO_JOB_PREFIX}{chat_id}:{message_id}"


async def end_undo_window(context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
    """Whatever removal this message still offers to undo goes through now."""
    if context.job_queue is None:
        return
    for job in context.job_queue.get_jobs_by_name(undo_job_name(message.chat.id, message.id)):
        job.schedule_removal()
        await services(context).favorites.commit_removal(job.data["favorite_id"])  # type: ignore[index]


async def undo_window_closed(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: delete the removed name for good, show the plain list again."""
    job = context.job
    assert job is not None
    data: dict = job.data  # type: ignore[assignment]
    favorites = services(context).favorites
    window = undo_window(context.bot_data)
    await favorites.commit_removal(data["favorite_id"], window)
    if await undo_offered_elsewhere(context, data["user_id"], window):
        return
    page = await favorites.page(data["user_id"], data["page"])
    text, markup = favorites_view(page, data["user_id"], data["lang"])
    try:
        await context.bot.edit_message_text(
            text,
            chat_id=data["chat_id"],
            message_id=data["message_id"],
            reply_markup=markup,
        )
    except TelegramError as error:  # the list was deleted meanwhile, or is too old to edit
        log.info("could not refresh a favourites list after its undo window: %s", error)


async def undo_offered_elsewhere(
    context: ContextTypes.DEFAULT_TYPE, user_id: int, window: timedelta
) -> bool:
    """Whether another instance is offering an undo to this user right now: a removal of
    theirs is still in its window and no timer here knows it. It was most likely made on
    this same list (its 🗑 reached that instance), whose timer will refresh the list in its
    turn; refreshing now would take its ↩ away early."""
    pending = await services(context).favorites.pending_removals(user_id, window)
    if not pending or context.job_queue is None:
        return False
    here = {
        job.data["favorite_id"]  # type: ignore[index]
        for job in context.job_queue.jobs()
        if job is not context.job and (job.name or "").startswith(UNDO_JOB_PREFIX)
    }
    return bool(pending - here)


async def favorites_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🗑 (favdel:), ↩ (favundo:) and ◀ ▶ (favpage:) on a /favorites list."""
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    user_id = who.prefs.user_id
    favorites = services(context).favorites
    message = query.message if isinstance(query.message, Message) else None
    match = button_match(context)  # LIST_DATA
    if match is None:
        await query.answer(t(who.lang, "button_stale"), show_alert=True)
        return
    kind, favorite_id, page_number = match[1], int(match[2]), int(match[3])
    removed = None
    if kind == "del":
        removal = await favorites.remove(user_id, favorite_id)
        if removal is None:
            await query.answer(t(who.lang, "fav_not_yours"), show_alert=True)
            return
        removed = removal.record
        if not removal.first:  # a second quick 🗑 (here or elsewhere): its undo is on offer
            await query.answer(
                t(who.lang, item_key("fav_removed", removed), name=item_label(removed))
            )
            return
        if message is not None:
            await end_undo_window(context, message)  # one undo offer per message
        await query.answer(t(who.lang, item_key("fav_removed", removed), name=item_label(removed)))
    elif kind == "undo":
        window = undo_window(context.bot_data)
        status, record = await favorites.undo_removal(user_id, favorite_id, window)
        if status is UndoStatus.NOT_YOURS:
            await query.answer(t(who.lang, "fav_not_yours"), show_alert=True)
            return
        if message is not None and context.job_queue is not None:
            name = undo_job_name(message.chat.id, message.id)
            for job in context.job_queue.get_jobs_by_name(name):
                job.schedule_removal()
        if status is UndoStatus.TOO_LATE or record is None:
            await query.answer(t(who.lang, "fav_undo_late"), show_alert=True)
        else:
            await query.answer(
                t(who.lang, item_key("fav_restored", record), name=item_label(record))
            )
    else:  # page: the id is the list's owner
        if favorite_id != user_id:
            await query.answer(t(who.lang, "fav_not_yours"), show_alert=True)
            return
        if message is not None:
            await end_undo_window(context, message)
        await query.answer()
    if removed is not None and (context.job_queue is None or message is None):
        await favorites.commit_removal(removed.id)  # no timer to offer an undo with
        removed = None
    page = await favorites.page(user_id, page_number)
    seconds = undo_seconds(context.bot_data)
    text, markup = favorites_view(page, user_id, who.lang, removed, seconds)
    if message is None:
        return
    try:
        await edit_ignoring_unchanged(query.edit_message_text(text, reply_markup=markup))
    finally:  # armed after the edit, so a short window cannot close before it opens
        if removed is not None and context.job_queue is not None:
            context.job_queue.run_once(
                undo_window_closed,
                when=seconds,
                data={
                    "favorite_id": removed.id,
                    "user_id": user_id,
                    "page": page.page,
                    "lang": who.lang,
                    "chat_id": message.chat.id,
                    "message_id": message.id,
                },
                name=undo_job_name(message.chat.id, message.id),
                job_kwargs={"misfire_grace_time": None},
            )


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export: the caller's favourites as a .txt and a .csv document."""
    who = await caller(update, context)
    if sender_chat(update) is not None:
        await reply(update, t(who.lang, "fav_chat_sender"))
        return
    items = await services(context).favorites.all(who.prefs.user_id)
    message = update.effective_message
    if message is None:
        return
    if not items:
        await reply(update, t(who.lang, "fav_export_empty"))
        return
    await message.reply_document(
        document=export_txt(items),
        filename=f"{EXPORT_BASENAME}.txt",
        caption=t(who.lang, "fav_export_txt", count=len(items)),
    )
    await message.reply_document(
        document=export_csv(items),
        filename=f"{EXPORT_BASENAME}.csv",
        caption=t(who.lang, "fav_export_csv"),
    )


async def prune_stored_answers(service: FavoritesService) -> None:
    """Forget stored answers past their time (saved names are kept), and say so in the log."""
    removed = await service.prune_generations()
    if removed:
        log.info("pruned %d stored name answers", removed)


async def prune_stored_answers_once(app: Application) -> None:
    """Shared-job work for ``prune_stored_answers``."""
    await prune_stored_answers(app.bot_data["services"].favorites)


async def schedule_pruning(app: Application) -> None:
    """Start-up hook: prune now unless some instance did within ``PRUNE_EVERY``, then ask
    every ``PRUNE_CHECK``; one instance prunes per period however many run."""
    await run_if_due(app, PRUNE_JOB, PRUNE_EVERY, prune_stored_answers_once)
    schedule_shared_job(app, PRUNE_JOB, PRUNE_EVERY, prune_stored_answers_once, PRUNE_CHECK)


async def sweep_removed(app: Application) -> int:
    """Delete the favourites (anyone's) whose undo window is over; how many. Each list's
    timer deletes its own on time; this catches what no timer will: a removal whose
    instance went away, or whose list moved on to another instance."""
    swept = await app.bot_data["services"].favorites.purge_removed(undo_window(app.bot_data))
    if swept:
        log.info("swept %d removed favourites", swept)
    return swept


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback for ``sweep_removed``."""
    await sweep_removed(context.application)


def schedule_removal_sweep(app: Application) -> None:
    """Start-up hook: sweep every ``UNDO_SECONDS`` (bot_data may change it) on every
    instance; the DELETE reads only the index of removed rows, so it costs next to nothing."""
    if app.job_queue is None:
        log.warning("no JobQueue: removed favourites are deleted at once, without undo")
        return
    every = float(app.bot_data.get(SWEEP_SECONDS_KEY, UNDO_SECONDS))
    app.job_queue.run_repeating(sweep_job, interval=every, first=every, name=SWEEP_JOB)
