"""Tables. The schema itself is owned by Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Ids are 64-bit: BIGINT on PostgreSQL (migration 0005), and on SQLite an INTEGER PRIMARY KEY,
# which is its 64-bit rowid (a BIGINT key there would not autoincrement).
Id = BigInteger().with_variant(Integer(), "sqlite")


# what a stored answer or a favourite holds (migration 0006)
NAME_KIND, PHRASE_KIND = "name", "phrase"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime:
    """SQLite hands datetimes back naive; they were written in UTC by ``utcnow``."""
    if value is None:
        return datetime.fromtimestamp(0, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class UserSettings(Base):
    """One row per Telegram user who changed or used anything; absent means defaults."""

    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    temperature: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    style: Mapped[str | None] = mapped_column(String(16), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Name controls; None means "any" (the mixture). Values are checked against the style's
    # model when used, so a setting the current style lacks (race in en) is simply ignored.
    sex: Mapped[str | None] = mapped_column(String(8), nullable=True)
    era: Mapped[str | None] = mapped_column(String(8), nullable=True)
    race: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class NameGeneration(Base):
    """One /name answer (or 🔄 More), so buttons can carry only its id, never the names.

    Callback data is at most 64 bytes and can be forged by any client, so the buttons say
    ``fav:<id>:<index>`` and the handler reads the name from here.
    """

    __tablename__ = "name_generations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    style: Mapped[str] = mapped_column(String(16), nullable=False)
    prefix: Mapped[str] = mapped_column(Text, nullable=False, default="")
    temperature: Mapped[float] = mapped_column(Float, nullable=False)
    names_json: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of names
    # the controls the answer was made with ({"sex": "f", "era": "1920"}), for 🔄 and switches
    attributes_json: Mapped[str] = mapped_column(
        Text, nullable=False, default="{}", server_default="{}"
    )
    full: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    # "name" (/name, /fullname) or "phrase" (/phrase: ``style`` is then the voice, ``prefix``
    # the start text and ``names_json`` the phrases), so each button accepts only its own kind
    kind: Mapped[str] = mapped_column(
        String(8), nullable=False, default=NAME_KIND, server_default=NAME_KIND
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Favorite(Base):
    """A name (or phrase) a user saved. It copies name/style/prefix so it outlives its
    generation row. A phrase keeps its text in ``name`` and its voice in ``style``.

    ``removed_at`` is set by 🗑 and cleared by ↩ (0008): a removed row is left out of every
    list and count, and is deleted once the undo window has passed, by whichever instance
    sweeps first, so an undo works whichever instance it reaches.
    """

    __tablename__ = "favorites"
    __table_args__ = (
        UniqueConstraint("user_id", "name", "style", name="uq_favorites_user_name"),
        # only removed rows (a handful, for seconds): every instance's sweep stays cheap
        Index(
            "ix_favorites_removed_at",
            "removed_at",
            sqlite_where=text("removed_at IS NOT NULL"),
            postgresql_where=text("removed_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)  # fantasy names run to 106
    style: Mapped[str] = mapped_column(String(16), nullable=False)
    prefix: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # no foreign key on purpose: pruning generations must never touch a saved name
    generation_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    kind: Mapped[str] = mapped_column(
        String(8), nullable=False, default=NAME_KIND, server_default=NAME_KIND
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GameRound(Base):
    """A "real or invented?" round; ``revealed_at`` NULL means it is still open.

    A partial unique index allows one open round per chat even when two /game race.
    """

    __tablename__ = "game_rounds"
    __table_args__ = (
        Index(
            "uq_game_rounds_open_chat",
            "chat_id",
            unique=True,
            sqlite_where=text("revealed_at IS NULL"),
            postgresql_where=text("revealed_at IS NULL"),
        ),
        # every instance's sweeper asks for open rounds past their deadline every few
        # seconds: only open rounds are in this index, so the question stays cheap (0007)
        Index(
            "ix_game_rounds_open_deadline",
            "deadline",
            sqlite_where=text("revealed_at IS NULL"),
            postgresql_where=text("revealed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    started_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    style: Mapped[str] = mapped_column(String(16), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    name: Mapped[str] = mapped_column(Text, nullable=False)  # fantasy names run to 106
    is_real: Mapped[bool] = mapped_column(Boolean, nullable=False)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The forum topic the round was posted in (None outside forums): the timer's result must
    # go there too, and a job has no incoming message to take it from.
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GameVote(Base):
    """A player's current guess in a round; pressing again overwrites it until the reveal."""

    __tablename__ = "game_votes"

    round_id: Mapped[int] = mapped_column(
        Id, ForeignKey("game_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    says_real: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class GameScore(Base):
    """Points per chat and player (1 per correct guess), for /top."""

    __tablename__ = "game_scores"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    points: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rounds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class JobRun(Base):
    """When a periodic job last ran, anywhere: a lease shared by every instance (0007).

    Each instance's JobQueue asks often; the one whose conditional upsert moves
    ``last_run_at`` forward runs the job, so pruning runs once per period across instances.
    """

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    holder: Mapped[str] = mapped_column(String(128), nullable=False)  # which instance ran it


class ReviewReply(Base):
    """Which bot message answered which review, so an edited review edits its answer even
    when another instance handles the edit (0007). Rows older than Telegram lets a bot edit
    a message are of no use and are pruned."""

    __tablename__ = "review_replies"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    review_message_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False
    )
    answer_message_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )


class ProcessedUpdate(Base):
    """An update some instance has taken on, per bot (update ids count per bot), so a
    redelivered update is ignored instead of saving or voting twice (0007).

    ``done`` is False while a webhook delivery is being handled (Telegram gets its answer
    only after that): a copy arriving meanwhile is told to come again, and a delivery that
    failed gives its claim back, so the redelivery is handled instead of dropped."""

    __tablename__ = "processed_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
