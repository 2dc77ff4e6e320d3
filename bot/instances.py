"""Running as one of several instances on one database (issue 14 §3).

Any number of bot processes may share the database (behind one webhook URL, say) and behave
as one, because nothing they must agree on lives in a process:

- periodic jobs (``schedule_shared_job``): every instance's JobQueue asks often, and only
  the instance whose claim in ``job_runs`` succeeds runs the job, once per period in all;
- redelivered updates (``skip_redelivered``, before every other handler): the first instance
  to claim an update's id handles it, every other delivery of it is dropped (or, in webhook
  mode while the first is still at it, told to come again);
- game reveals: a conditional UPDATE closes a round once (bot/db/game.py), and every
  instance sweeps for rounds past their deadline (bot/handlers/game.py);
- review→answer ids are in the database (bot/handlers/reviews.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.db.instances import Claim, JobRunsRepository, ProcessedUpdatesRepository
from bot.db.models import utcnow
from bot.metrics import current_observation

log = logging.getLogger(__name__)

# Who holds a job run, for the log and job_runs.holder: host, process and a random part
# (two Applications in one process, as in the tests, are two instances).
INSTANCE_PREFIX = f"{socket.gethostname()[:64]}:{os.getpid()}"
INSTANCE_KEY = "instance_id"
# The handler group of ``skip_redelivered``: below every other group (PTB runs groups in
# ascending order, and only the first matching handler of a group), so it sees every update
# first and never stands in for another group -1 handler.
REDELIVERY_GROUP = -100
JOB_RUNS_KEY = "job_runs"
PROCESSED_UPDATES_KEY = "processed_updates"
PENDING_RELEASES_KEY = "pending_claim_releases"
# Pauses (seconds) between tries to release a claim the database refused: ~31 s in all, well
# inside STALE_CLAIM, after which the next copy takes the claim over anyway.
RELEASE_RETRIES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)

# Telegram gives up redelivering a webhook update within hours; a day is plenty to remember.
REMEMBER_UPDATES = timedelta(hours=24)
PRUNE_UPDATES_EVERY = timedelta(hours=1)
PRUNE_UPDATES_CHECK = timedelta(minutes=5)
PRUNE_UPDATES_JOB = "prune-processed-updates"

SharedWork = Callable[[Application], Awaitable[None]]


def new_instance_id() -> str:
    return f"{INSTANCE_PREFIX}:{uuid.uuid4().hex[:8]}"


def instance_id(app: Application) -> str:
    return app.bot_data[INSTANCE_KEY]


async def run_if_due(app: Application, name: str, period: timedelta, work: SharedWork) -> bool:
    """Run ``work`` when no instance has run job ``name`` within ``period``; say whether it
    ran here. The claim comes first: an instance that dies while working leaves the job to
    the next period, rather than two instances working at once."""
    runs: JobRunsRepository = app.bot_data[JOB_RUNS_KEY]
    if not await runs.claim(name, period, instance_id(app)):
        return False
    log.debug("running shared job %s", name)
    await work(app)
    return True


def schedule_shared_job(
    app: Application,
    name: str,
    period: timedelta,
    work: SharedWork,
    check_every: timedelta,
) -> None:
    """Every ``check_every``, ask whether job ``name`` is due (``run_if_due``): each instance
    asks, one runs it per ``period``. Asking often (compared with the period) means a job
    still runs on time when the instance that ran it last has gone."""
    if app.job_queue is None:  # python-telegram-bot installed without [job-queue]
        log.warning("no JobQueue: shared job %s runs only at start-up", name)
        return

    async def check(context: ContextTypes.DEFAULT_TYPE) -> None:
        await run_if_due(context.application, name, period, work)

    app.job_queue.run_repeating(
        check, interval=check_every.total_seconds(), first=check_every.total_seconds(), name=name
    )


async def skip_redelivered(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """First handler of all (``REDELIVERY_GROUP``): an update already taken on stops here.

    The id is claimed *before* the update is handled, because that is what makes two
    deliveries at the same moment (two instances, one webhook retry) handle it once: the
    upsert decides. How a claim ends depends on who can deliver the update again:

    * polling: nobody redelivers (the offset confirmed it), so the claim is final at once;
    * webhook (bot/webhook.py): Telegram gets its answer only after handling, and sends the
      update again when that answer is not 2xx. The claim stays open until the server
      ``finish``es it (200) or ``release``s it (500: the redelivery is then handled, not
      dropped). A copy arriving while the claim is open gets a 500 too ("come again"), so a
      first delivery that fails is never replaced by a copy that was dropped; a claim left
      open by an instance that died is taken over after ``STALE_CLAIM``.

    If the database cannot say (it is down), the update is handled anyway: a rare duplicate
    beats a lost message, and the handler will report the failure itself.

    Inline queries are let through unrecorded: answering one changes nothing stored, Telegram
    refuses a second answer to the same query, and a write before each keystroke's query would
    let them overtake each other, so the debouncer (which answers a user's latest query)
    could answer an older one.
    """
    if not isinstance(update, Update) or update.inline_query is not None:
        return
    processed: ProcessedUpdatesRepository = context.bot_data[PROCESSED_UPDATES_KEY]
    delivery = current_observation()
    webhook = delivery is not None and delivery.redelivery_possible
    try:
        claim = await processed.claim(context.bot.id, update.update_id, finished=not webhook)
    except Exception:
        log.warning("could not record update %s; handling it anyway", update.update_id)
        return
    if claim is Claim.TAKEN:
        if webhook:
            delivery.claimed = True  # the webhook server finishes or releases it
        return
    if claim is Claim.IN_PROGRESS and webhook:
        log.info(
            "update %s is being handled by another delivery: ask for it again", update.update_id
        )
        delivery.redeliver = True
    else:
        log.info("update %s was delivered before: ignored", update.update_id)
    raise ApplicationHandlerStop


async def end_claim(app: Application, update: Update, handled: bool) -> None:
    """Webhook server, after a delivery that claimed its update: ``handled`` (answered 200)
    finishes the claim, otherwise (500: Telegram sends it again) it is released.

    A release usually follows a database outage, so it often fails too: it is then retried
    in the background for about half a minute (``RELEASE_RETRIES``), so that once the
    database is back the next copy Telegram sends is handled rather than asked to come again
    until the claim is stale. A finish that fails is only logged: Telegram got its 200 and
    sends no copy to drop."""
    processed: ProcessedUpdatesRepository = app.bot_data[PROCESSED_UPDATES_KEY]
    bot_id, update_id = app.bot.id, update.update_id
    try:
        await (processed.finish if handled else processed.release)(bot_id, update_id)
        return
    except Exception:
        if handled:
            log.warning("could not finish the claim on update %s", update_id)
            return
    log.warning("could not release the claim on update %s yet; retrying", update_id)
    pending: set[asyncio.Task] = app.bot_data.setdefault(PENDING_RELEASES_KEY, set())
    task = asyncio.create_task(_release_later(processed, bot_id, update_id))
    pending.add(task)
    task.add_done_callback(pending.discard)


async def _release_later(
    processed: ProcessedUpdatesRepository, bot_id: int, update_id: int
) -> None:
    for pause in RELEASE_RETRIES:
        await asyncio.sleep(pause)
        try:
            await processed.release(bot_id, update_id)
        except Exception:
            continue
        log.info("released the claim on update %s", update_id)
        return
    log.warning("gave up releasing update %s: its claim goes stale instead", update_id)


def cancel_pending_releases(app: Application) -> None:
    """Shut-down hook: retries still waiting stop (their claims go stale, STALE_CLAIM)."""
    for task in list(app.bot_data.get(PENDING_RELEASES_KEY, ())):
        task.cancel()


async def prune_processed_updates(app: Application) -> None:
    """Forget the updates taken on more than ``REMEMBER_UPDATES`` ago."""
    processed: ProcessedUpdatesRepository = app.bot_data[PROCESSED_UPDATES_KEY]
    removed = await processed.prune(utcnow() - REMEMBER_UPDATES)
    if removed:
        log.info("forgot %d processed update ids", removed)


def schedule_update_pruning(app: Application) -> None:
    """Start-up hook: one instance prunes the processed update ids every hour."""
    schedule_shared_job(
        app, PRUNE_UPDATES_JOB, PRUNE_UPDATES_EVERY, prune_processed_updates, PRUNE_UPDATES_CHECK
    )
