"""What several bot instances on one database agree on through it (issue 14 §3).

Each answer is one atomic statement, so any number of instances (or racing handlers in one)
get the same outcome as a single process would:

- ``JobRunsRepository.claim``: a periodic job runs once per period across instances (an
  upsert that moves ``last_run_at`` forward only when the period is over; whoever moved it,
  runs the job);
- ``ProcessedUpdatesRepository.record``: an update is handled once, however often Telegram
  delivers it (an insert that ignores a conflict; whoever inserted, handles it);
- ``ReviewRepliesRepository``: which bot message answered which review, for edited reviews.

SQLite and PostgreSQL both have ``INSERT ... ON CONFLICT`` and ``RETURNING`` (SQLite 3.35+),
so a returned row says who won on either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import JobRun, ProcessedUpdate, ReviewReply, utcnow


def insert_for(session: AsyncSession, table: Table) -> Any:
    """The dialect's INSERT (the one with ``on_conflict_*``) for the session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class JobRunsRepository:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions

    async def claim(
        self, name: str, period: timedelta, holder: str, now: datetime | None = None
    ) -> bool:
        """Whether ``holder`` runs job ``name`` now: True for exactly one caller per period,
        however many instances ask at once. The first claim ever inserts the row; a later
        one updates it only when the last run is at least ``period`` old (the row lock on
        PostgreSQL, the write lock on SQLite make the second asker see the first's run)."""
        now = now or utcnow()
        table = JobRun.__table__
        async with self.sessions() as session, session.begin():
            statement = insert_for(session, table).values(name=name, last_run_at=now, holder=holder)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.name],
                set_={"last_run_at": now, "holder": holder},
                where=table.c.last_run_at <= now - period,
            ).returning(table.c.name)
            return (await session.execute(statement)).first() is not None

    async def last_run(self, name: str) -> tuple[datetime, str] | None:
        """When job ``name`` last ran and on which instance (for logs and tests)."""
        async with self.sessions() as session:
            row = await session.get(JobRun, name)
            return None if row is None else (row.last_run_at, row.holder)


class ProcessedUpdatesRepository:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions

    async def record(self, bot_id: int, update_id: int) -> bool:
        """Note that update ``update_id`` is being handled; False when some instance (or an
        earlier delivery to this one) already took it."""
        table = ProcessedUpdate.__table__
        async with self.sessions() as session, session.begin():
            statement = (
                insert_for(session, table)
                .values(bot_id=bot_id, update_id=update_id, processed_at=utcnow())
                .on_conflict_do_nothing(index_elements=[table.c.bot_id, table.c.update_id])
                .returning(table.c.update_id)
            )
            return (await session.execute(statement)).first() is not None

    async def prune(self, before: datetime) -> int:
        """Forget updates taken on before ``before`` (Telegram stops redelivering long before)."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
            )
            return result.rowcount or 0


class ReviewRepliesRepository:
    def __init__(self, sessions: async_sessionmaker, per_chat: int) -> None:
        self.sessions = sessions
        self.per_chat = per_chat  # at most this many remembered answers per chat

    async def answer_to(self, chat_id: int, review_id: int, since: datetime) -> int | None:
        """The id of the bot message that answered review ``review_id``, if it was sent after
        ``since`` (an older one can no longer be edited)."""
        async with self.sessions() as session:
            return await session.scalar(
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
        async with self.sessions() as session, session.begin():
            statement = insert_for(session, table).values(
                chat_id=chat_id,
                review_message_id=review_id,
                answer_message_id=answer_id,
                created_at=now,
            )
            await session.execute(
                statement.on_conflict_do_update(
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
            await session.execute(
                delete(ReviewReply).where(
                    ReviewReply.chat_id == chat_id,
                    ReviewReply.review_message_id.not_in(newest.scalar_subquery()),
                )
            )

    async def prune(self, before: datetime) -> int:
        """Forget answers sent before ``before``: too old to edit, of no use any more."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(ReviewReply).where(ReviewReply.created_at < before)
            )
            return result.rowcount or 0
