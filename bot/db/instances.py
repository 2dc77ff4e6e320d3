"""What several bot instances on one database agree on through it (issue 14 §3).

Each answer is one atomic statement, so any number of instances (or racing handlers in one)
get the same outcome as a single process would:

- ``JobRunsRepository.claim``: a periodic job runs once per period across instances (an
  upsert that moves ``last_run_at`` forward only when the period is over; whoever moved it,
  runs the job);
- ``ProcessedUpdatesRepository.claim``: an update is handled once, however often Telegram
  delivers it (an upsert; whoever inserted, or took over a stale claim, handles it);
- ``ReviewRepliesRepository``: which bot message answered which review, for edited reviews.

SQLite and PostgreSQL both have ``INSERT ... ON CONFLICT`` and ``RETURNING`` (SQLite 3.35+),
so a returned row says who won on either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Table, bindparam, delete, false, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.engine import Database
from bot.db.models import JobRun, ProcessedUpdate, ReviewReply, utcnow

# A webhook delivery is handled before Telegram gets its answer, in seconds; a claim this old
# whose holder neither finished nor released it belongs to an instance that died or lost its
# database at the wrong moment, and the next copy takes it over.
STALE_CLAIM = timedelta(seconds=60)


class Claim(Enum):
    """What ``ProcessedUpdatesRepository.claim`` found."""

    TAKEN = "taken"  # this delivery handles the update
    DONE = "done"  # handled already: drop this copy
    IN_PROGRESS = "in progress"  # another delivery is handling it (or failed recently)


def insert_for(db: Database, table: Table) -> Any:
    """The dialect's INSERT (the one with ``on_conflict_*``) for the database."""
    return (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(table)


class JobRunsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self, name: str, period: timedelta, holder: str, now: datetime | None = None
    ) -> bool:
        """Whether ``holder`` runs job ``name`` now: True for exactly one caller per period,
        however many instances ask at once. The first claim ever inserts the row; a later
        one updates it only when the last run is at least ``period`` old (the row lock on
        PostgreSQL, the write lock on SQLite make the second asker see the first's run)."""
        now = now or utcnow()
        table = JobRun.__table__
        statement = insert_for(self.db, table).values(name=name, last_run_at=now, holder=holder)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.name],
            set_={"last_run_at": now, "holder": holder},
            where=table.c.last_run_at <= now - period,
        ).returning(table.c.name)
        return bool(await self.db.rows(statement))

    async def last_run(self, name: str) -> tuple[datetime, str] | None:
        """When job ``name`` last ran and on which instance (for logs and tests)."""
        row = await self.db.get(JobRun, name)
        return None if row is None else (row.last_run_at, row.holder)


class ProcessedUpdatesRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Built once with placeholders: every update runs the claim, and building and keying
        # this upsert cost more CPU than running it (0.3 ms a time, measured).
        table = ProcessedUpdate.__table__
        now, finished = bindparam("now", type_=table.c.processed_at.type), bindparam("finished")
        self._upsert = (
            insert_for(db, table)
            .values(
                bot_id=bindparam("bot_id"),
                update_id=bindparam("update_id"),
                processed_at=now,
                done=finished,
            )
            .on_conflict_do_update(
                index_elements=[table.c.bot_id, table.c.update_id],
                set_={"processed_at": now, "done": finished},
                where=(table.c.done == false()) & (table.c.processed_at <= bindparam("stale")),
            )
            .returning(table.c.update_id)
        )
        self._done = select(table.c.done).where(
            table.c.bot_id == bindparam("bot_id"), table.c.update_id == bindparam("update_id")
        )

    async def claim(
        self,
        bot_id: int,
        update_id: int,
        *,
        finished: bool,
        stale_after: timedelta = STALE_CLAIM,
        now: datetime | None = None,
    ) -> Claim:
        """Take update ``update_id`` on, or say who has it: one atomic upsert decides.

        ``finished=True`` (polling: nobody redelivers an update that failed) records it as
        done at once. ``finished=False`` (webhook) claims it until ``finish`` or ``release``;
        a claim older than ``stale_after`` whose holder never did either (it died, or the
        database was down when it tried to give the claim back) is taken over."""
        now = now or utcnow()
        key = {"bot_id": bot_id, "update_id": update_id}
        values = {**key, "now": now, "finished": finished, "stale": now - stale_after}

        def work(session: Session) -> Claim:
            if session.execute(self._upsert, values).first() is not None:
                return Claim.TAKEN
            # no row: released by its holder between the two statements, so the update is
            # not handled yet; a webhook copy is asked to come again rather than dropped
            return Claim.DONE if session.scalar(self._done, key) else Claim.IN_PROGRESS

        return await self.db.run(work)

    async def finish(self, bot_id: int, update_id: int) -> None:
        """The claimed update was handled: later copies are dropped."""
        await self.db.rowcount(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.bot_id == bot_id, ProcessedUpdate.update_id == update_id)
            .values(done=True)
        )

    async def release(self, bot_id: int, update_id: int) -> None:
        """Handling the claimed update failed and Telegram will send it again: forget it."""
        await self.db.rowcount(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.bot_id == bot_id,
                ProcessedUpdate.update_id == update_id,
                ProcessedUpdate.done == false(),
            )
        )

    async def prune(self, before: datetime) -> int:
        """Forget updates taken on before ``before`` (Telegram stops redelivering long before)."""
        return await self.db.rowcount(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )


class ReviewRepliesRepository:
    def __init__(self, db: Database, per_chat: int) -> None:
        self.db = db
        self.per_chat = per_chat  # at most this many remembered answers per chat

    async def answer_to(self, chat_id: int, review_id: int, since: datetime) -> int | None:
        """The id of the bot message that answered review ``review_id``, if it was sent after
        ``since`` (an older one can no longer be edited)."""
        return await self.db.scalar(
            select(ReviewReply.answer_message_id).where(
                ReviewReply.chat_id == chat_id,
                ReviewReply.review_message_id == review_id,
                ReviewReply.created_at > since,
            )
        )

    async def remember(self, chat_id: int, review_id: int, answer_id: int) -> None:
        """Review ``review_id`` is now answered by ``answer_id`` (a fresh answer replaces the
        earlier one); the chat keeps only its newest ``per_chat`` answers."""
        table = ReviewReply.__table__
        now = utcnow()
        upsert = (
            insert_for(self.db, table)
            .values(
                chat_id=chat_id,
                review_message_id=review_id,
                answer_message_id=answer_id,
                created_at=now,
            )
            .on_conflict_do_update(
                index_elements=[table.c.chat_id, table.c.review_message_id],
                set_={"answer_message_id": answer_id, "created_at": now},
            )
        )
        newest = (
            select(ReviewReply.review_message_id)
            .where(ReviewReply.chat_id == chat_id)
            .order_by(ReviewReply.created_at.desc(), ReviewReply.review_message_id.desc())
            .limit(self.per_chat)
        )
        older = delete(ReviewReply).where(
            ReviewReply.chat_id == chat_id,
            ReviewReply.review_message_id.not_in(newest.scalar_subquery()),
        )

        def work(session: Session) -> None:
            session.execute(upsert)
            session.execute(older)

        await self.db.run(work)

    async def prune(self, before: datetime) -> int:
        """Forget answers sent before ``before``: too old to edit, of no use any more."""
        return await self.db.rowcount(delete(ReviewReply).where(ReviewReply.created_at < before))
