"""Queries for the real-or-invented game: rounds, votes and per-chat scores.

SQLite in WAL mode fails a transaction that read first and then tries to write after another
writer committed, so the transactions that must be atomic with the reveal (a vote, the reveal
itself) start with a write: the write lock is taken before anything is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.engine import Database
from bot.db.models import GameRound, GameScore, GameVote, as_utc, utcnow


@dataclass(frozen=True)
class RoundRecord:
    id: int
    chat_id: int
    style: str
    language: str
    name: str
    is_real: bool
    message_id: int | None
    deadline: datetime
    revealed: bool
    thread_id: int | None = None  # forum topic, when the round was posted in one
    started_by: int = 0  # who may end it early besides the chat's admins (see owner_id)


@dataclass(frozen=True)
class VoteRecord:
    user_id: int
    display_name: str
    says_real: bool


@dataclass(frozen=True)
class ScoreRecord:
    user_id: int
    display_name: str
    points: int
    rounds: int


def _open_in_chat(round_id: int, chat_id: int) -> tuple[ColumnElement[bool], ...]:
    """WHERE clause of "this round, shown in this chat, not yet revealed"."""
    return (
        GameRound.id == round_id,
        GameRound.chat_id == chat_id,
        GameRound.revealed_at.is_(None),
    )


def _round(row: GameRound) -> RoundRecord:
    return RoundRecord(
        id=row.id,
        chat_id=row.chat_id,
        style=row.style,
        language=row.language,
        name=row.name,
        is_real=row.is_real,
        message_id=row.message_id,
        deadline=as_utc(row.deadline),
        revealed=row.revealed_at is not None,
        thread_id=row.message_thread_id,
        started_by=row.started_by,
    )


class GameRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open_round(self, chat_id: int) -> RoundRecord | None:
        row = await self.db.scalar(
            select(GameRound).where(GameRound.chat_id == chat_id, GameRound.revealed_at.is_(None))
        )
        return _round(row) if row else None

    async def open_rounds(self) -> list[RoundRecord]:
        rows = await self.db.scalars(select(GameRound).where(GameRound.revealed_at.is_(None)))
        return [_round(row) for row in rows]

    async def due_rounds(self, now: datetime, limit: int = 100) -> list[tuple[int, int]]:
        """(round id, chat id) of open rounds whose deadline has passed, oldest first: what a
        sweeper hands to ``reveal``, which closes each once however many sweep at once."""
        found = await self.db.rows(
            select(GameRound.id, GameRound.chat_id)
            .where(GameRound.revealed_at.is_(None), GameRound.deadline <= now)
            .order_by(GameRound.deadline, GameRound.id)
            .limit(limit)
        )
        return [(round_id, chat_id) for round_id, chat_id in found]

    async def create_round(
        self,
        chat_id: int,
        started_by: int,
        style: str,
        language: str,
        name: str,
        is_real: bool,
        deadline: datetime,
    ) -> RoundRecord | None:
        """The new open round, or None when the chat already has one (the partial unique
        index decides, so two /game at once still make one round)."""

        def work(session: Session) -> RoundRecord:
            row = GameRound(
                chat_id=chat_id,
                started_by=started_by,
                style=style,
                language=language,
                name=name,
                is_real=is_real,
                deadline=deadline,
            )
            session.add(row)
            session.flush()
            return _round(row)

        try:
            return await self.db.run(work)
        except IntegrityError:
            return None

    async def set_message(self, round_id: int, message_id: int, thread_id: int | None) -> None:
        await self.db.rowcount(
            update(GameRound)
            .where(GameRound.id == round_id)
            .values(message_id=message_id, message_thread_id=thread_id)
        )

    async def discard_round(self, round_id: int) -> bool:
        """Delete a round that never got its message (and any votes): as if never started.

        Only an open round without a message qualifies, so a round people can see and vote on
        is never deleted by this."""

        def work(session: Session) -> bool:
            result = session.execute(
                delete(GameRound).where(
                    GameRound.id == round_id,
                    GameRound.revealed_at.is_(None),
                    GameRound.message_id.is_(None),
                )
            )
            if not result.rowcount:
                return False
            session.execute(delete(GameVote).where(GameVote.round_id == round_id))
            return True

        return await self.db.run(work)

    @staticmethod
    def _lock_open(session: Session, round_id: int, chat_id: int) -> bool:
        """Take the write lock, and say whether the round is open in this chat."""
        result = session.execute(
            update(GameRound).where(*_open_in_chat(round_id, chat_id)).values(id=GameRound.id)
        )
        return bool(result.rowcount)

    async def vote(
        self, round_id: int, chat_id: int, user_id: int, display_name: str, says_real: bool
    ) -> str:
        """Record or change a vote: ``ok``, ``over`` (revealed) or ``invalid`` (no such
        round in this chat)."""

        def work(session: Session) -> str:
            if not self._lock_open(session, round_id, chat_id):
                row = session.get(GameRound, round_id)
                if row is None or row.chat_id != chat_id:
                    return "invalid"
                return "over"
            vote = session.get(GameVote, (round_id, user_id))
            if vote is None:
                session.add(
                    GameVote(
                        round_id=round_id,
                        user_id=user_id,
                        display_name=display_name,
                        says_real=says_real,
                    )
                )
            else:
                vote.says_real = says_real
                vote.display_name = display_name
            return "ok"

        return await self.db.run(work)

    async def reveal(
        self, round_id: int, chat_id: int
    ) -> tuple[RoundRecord, list[VoteRecord]] | None:
        """Close the round and award points, exactly once: the round's timer, /reveal and
        every instance's sweeper can race, and only the one whose conditional UPDATE closes
        the round (``revealed_at IS NULL`` still true; the row lock on PostgreSQL, the write
        lock on SQLite make the others see it closed) gets a result."""

        def work(session: Session) -> tuple[RoundRecord, list[VoteRecord]] | None:
            closed = session.execute(
                update(GameRound)
                .where(*_open_in_chat(round_id, chat_id))
                .values(revealed_at=utcnow())
            )
            if not closed.rowcount:
                return None
            row = session.get(GameRound, round_id)
            assert row is not None
            votes = list(
                session.scalars(
                    select(GameVote)
                    .where(GameVote.round_id == round_id)
                    .order_by(GameVote.updated_at, GameVote.user_id)
                )
            )
            for vote in votes:
                score = session.get(GameScore, (chat_id, vote.user_id))
                if score is None:
                    score = GameScore(
                        chat_id=chat_id,
                        user_id=vote.user_id,
                        display_name=vote.display_name,
                        points=0,
                        rounds=0,
                    )
                    session.add(score)
                score.display_name = vote.display_name
                score.rounds += 1
                score.points += int(vote.says_real == row.is_real)
            return _round(row), [VoteRecord(v.user_id, v.display_name, v.says_real) for v in votes]

        return await self.db.run(work)

    async def leaderboard(self, chat_id: int, limit: int = 10) -> list[ScoreRecord]:
        rows = await self.db.scalars(
            select(GameScore)
            .where(GameScore.chat_id == chat_id)
            .order_by(GameScore.points.desc(), GameScore.rounds, GameScore.user_id)
            .limit(limit)
        )
        return [ScoreRecord(r.user_id, r.display_name, r.points, r.rounds) for r in rows]
