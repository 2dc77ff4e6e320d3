"""Queries for name generations and favourites; handlers and services never write SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.engine import Database
from bot.db.models import NAME_KIND, Favorite, NameGeneration, as_utc


@dataclass(frozen=True)
class GenerationRecord:
    id: int
    chat_id: int
    user_id: int
    style: str
    prefix: str
    temperature: float
    names: list[str]
    attributes: dict[str, str] = field(default_factory=dict)
    full: bool = False
    kind: str = NAME_KIND  # "phrase": style is the voice, prefix the start, names the phrases


@dataclass(frozen=True)
class FavoriteRecord:
    id: int
    user_id: int
    name: str  # a phrase's text for kind "phrase"
    style: str  # a phrase's voice for kind "phrase"
    prefix: str
    saved_at: datetime
    kind: str = NAME_KIND
    removed_at: datetime | None = None  # 🗑 pressed, undo possible until the sweep deletes it


def _favorite(row: Favorite) -> FavoriteRecord:
    return FavoriteRecord(
        row.id,
        row.user_id,
        row.name,
        row.style,
        row.prefix,
        as_utc(row.created_at),
        row.kind or NAME_KIND,
        None if row.removed_at is None else as_utc(row.removed_at),
    )


KEPT = Favorite.removed_at.is_(None)  # what lists, counts and exports show


class FavoritesRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_generation(
        self,
        chat_id: int,
        user_id: int,
        style: str,
        prefix: str,
        temperature: float,
        names: list[str],
        attributes: dict[str, str] | None = None,
        full: bool = False,
        kind: str = NAME_KIND,
    ) -> int:
        def work(session: Session) -> int:
            row = NameGeneration(
                chat_id=chat_id,
                user_id=user_id,
                style=style,
                prefix=prefix,
                temperature=temperature,
                names_json=json.dumps(names, ensure_ascii=False),
                attributes_json=json.dumps(attributes or {}, sort_keys=True),
                full=full,
                kind=kind,
            )
            session.add(row)
            session.flush()
            return row.id

        return await self.db.run(work)

    async def generation(self, generation_id: int) -> GenerationRecord | None:
        def work(session: Session) -> GenerationRecord | None:
            row = session.get(NameGeneration, generation_id)
            if row is None:
                return None
            names = json.loads(row.names_json)
            attributes = json.loads(row.attributes_json or "{}")
            return GenerationRecord(
                row.id,
                row.chat_id,
                row.user_id,
                row.style,
                row.prefix,
                row.temperature,
                names,
                {str(k): str(v) for k, v in attributes.items()},
                bool(row.full),
                row.kind or NAME_KIND,
            )

        return await self.db.run(work)

    async def prune_generations(self, before: datetime) -> int:
        """Delete answers stored before ``before``; returns how many. Favourites are untouched:
        they copy their name, style and prefix and have no foreign key to this table."""
        return await self.db.rowcount(
            delete(NameGeneration).where(NameGeneration.created_at < before)
        )

    async def add_favorite(
        self,
        user_id: int,
        name: str,
        style: str,
        prefix: str,
        generation_id: int | None,
        kind: str = NAME_KIND,
    ) -> bool:
        """Save a name (or phrase); False when this user already has it (the unique
        constraint decides, so two quick presses cannot both insert)."""
        favorite = Favorite(
            user_id=user_id,
            name=name,
            style=style,
            prefix=prefix,
            generation_id=generation_id,
            kind=kind,
        )
        try:
            await self.db.run(lambda session: session.add(favorite))
        except IntegrityError:
            return False
        return True

    async def count(self, user_id: int) -> int:
        """How many favourites the user has, not counting removed ones."""
        query = select(func.count()).select_from(Favorite).where(Favorite.user_id == user_id, KEPT)
        return int(await self.db.scalar(query))

    async def page(
        self, user_id: int, offset: int = 0, limit: int | None = None
    ) -> list[FavoriteRecord]:
        """The user's favourites but removed ones, newest first; without ``limit``, all of
        them (export)."""
        rows = await self.db.scalars(
            select(Favorite)
            .where(Favorite.user_id == user_id, KEPT)
            .order_by(Favorite.created_at.desc(), Favorite.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_favorite(row) for row in rows]

    async def get(self, favorite_id: int) -> FavoriteRecord | None:
        """The row, removed or not (``removed_at`` says)."""
        row = await self.db.get(Favorite, favorite_id)
        return None if row is None else _favorite(row)

    async def find(self, user_id: int, name: str, style: str) -> FavoriteRecord | None:
        """The user's saved ``name`` in ``style`` (the unique key), if any, removed or not."""
        row = await self.db.scalar(
            select(Favorite).where(
                Favorite.user_id == user_id, Favorite.name == name, Favorite.style == style
            )
        )
        return None if row is None else _favorite(row)

    async def mark_removed(self, user_id: int, favorite_id: int, when: datetime) -> bool:
        """🗑: set ``removed_at`` on the user's own row, unless it is removed already. One
        UPDATE, so two presses (on one instance or two) remove it once."""
        return bool(
            await self.db.rowcount(
                update(Favorite)
                .where(Favorite.id == favorite_id, Favorite.user_id == user_id, KEPT)
                .values(removed_at=when)
            )
        )

    async def restore(self, user_id: int, favorite_id: int, removed_after: datetime) -> bool:
        """↩: clear ``removed_at`` on the user's own row if it was removed after
        ``removed_after`` (the window is still open). The database decides, so whichever
        instance gets the press, and however it races the sweep, the answer is one truth."""
        return bool(
            await self.db.rowcount(
                update(Favorite)
                .where(
                    Favorite.id == favorite_id,
                    Favorite.user_id == user_id,
                    Favorite.removed_at > removed_after,
                )
                .values(removed_at=None)
            )
        )

    async def restore_saved(self, user_id: int, name: str, style: str) -> bool:
        """⭐ on a name the user removed and has not lost yet (the sweep has not run): keep
        the row, in its old place, instead of failing on the unique key."""
        return bool(
            await self.db.rowcount(
                update(Favorite)
                .where(
                    Favorite.user_id == user_id,
                    Favorite.name == name,
                    Favorite.style == style,
                    Favorite.removed_at.is_not(None),
                )
                .values(removed_at=None)
            )
        )

    async def removed_since(self, user_id: int, after: datetime) -> list[int]:
        """Ids of the user's favourites removed after ``after``."""
        return await self.db.scalars(
            select(Favorite.id).where(Favorite.user_id == user_id, Favorite.removed_at > after)
        )

    async def delete_removed(
        self, favorite_id: int, removed_before: datetime | None = None
    ) -> bool:
        """Delete one favourite for good, only if it is (still) removed, and, given
        ``removed_before``, only if it was removed before then (its window is over)."""
        conditions = [Favorite.id == favorite_id, Favorite.removed_at.is_not(None)]
        if removed_before is not None:
            conditions.append(Favorite.removed_at <= removed_before)
        return bool(await self.db.rowcount(delete(Favorite).where(*conditions)))

    async def purge_removed(self, removed_before: datetime) -> int:
        """The sweep: delete every favourite removed before ``removed_before``; how many.
        Reads only the partial index of removed rows."""
        return await self.db.rowcount(delete(Favorite).where(Favorite.removed_at < removed_before))

    async def remove(self, user_id: int, favorite_id: int) -> bool:
        """Delete at once, only when the row belongs to ``user_id``: ids in buttons can be
        forged. (🗑 goes through ``mark_removed``; this is for tools and tests.)"""
        return bool(
            await self.db.rowcount(
                delete(Favorite).where(Favorite.id == favorite_id, Favorite.user_id == user_id)
            )
        )
