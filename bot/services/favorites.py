"""Favourite names and phrases: remember answers server-side, save/list/remove/export per user.

Buttons only ever carry ids (a generation id and an index, a favourite id). Anything they say
is checked here against the database, so a forged or stale button can at worst be refused.

Removing is two steps, so a stray 🗑 never loses a name: ``remove`` only marks the favourite
removed (``removed_at``; lists, counts and exports leave it out) and ``undo_removal`` clears the
mark while the undo window is open; the row is deleted once the window has passed, by
``commit_removal`` (the list message's timer) or ``purge_removed`` (every instance's sweep).
All of it is in the database, none in the process: any instance can undo what another
removed, and an instance that dies inside the window leaves nothing undone.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from bot.db.favorites import FavoriteRecord, FavoritesRepository, GenerationRecord
from bot.db.models import NAME_KIND, PHRASE_KIND, utcnow
from bot.services.names import NameBatch
from bot.services.phrases import PhraseBatch

PAGE_SIZE = 8
# Stored /name answers are only needed while their ⭐/🔄 buttons may still be pressed. After
# this long they are deleted (their buttons then answer "out of date"); saved names stay.
GENERATION_TTL = timedelta(days=30)
# kind and voice came with phrases (migration 0006); they go last so the first four columns
# mean what they always did. A phrase's text is in "name", its voice in "style" and "voice".
CSV_COLUMNS = ("name", "style", "prefix", "saved_at", "kind", "voice")


class UndoStatus(Enum):
    RESTORED = "restored"
    TOO_LATE = "too_late"  # the removal went through (or its window is over): it stays gone
    NOT_YOURS = "not_yours"


@dataclass(frozen=True)
class Removal:
    record: FavoriteRecord
    first: bool  # False: it was removed already (a second quick 🗑, here or elsewhere)


class SaveStatus(Enum):
    SAVED = "saved"
    ALREADY = "already"
    INVALID = "invalid"  # unknown generation, other chat, index out of range


@dataclass(frozen=True)
class SaveResult:
    status: SaveStatus
    name: str = ""
    asked_by: int = 0  # who asked for the answer the name came from (0 when invalid)
    kind: str = NAME_KIND  # "phrase" when a /phrase line was saved


@dataclass(frozen=True)
class FavoritesPage:
    items: list[FavoriteRecord]
    page: int  # 0-based, clamped into range
    pages: int  # at least 1
    total: int
    page_size: int


class FavoritesService:
    def __init__(self, repo: FavoritesRepository, page_size: int = PAGE_SIZE) -> None:
        self.repo = repo
        self.page_size = page_size

    async def record(self, chat_id: int, user_id: int, batch: NameBatch) -> int:
        """Store an answer so its buttons can refer to it by id; returns the id."""
        return await self.repo.add_generation(
            chat_id,
            user_id,
            batch.style,
            batch.query,
            batch.temperature,
            [name.text for name in batch.names],
            batch.attributes,
            batch.full,
        )

    async def record_phrases(self, chat_id: int, user_id: int, batch: PhraseBatch) -> int:
        """Store a /phrase answer (voice in style, start text in prefix); returns its id."""
        return await self.repo.add_generation(
            chat_id,
            user_id,
            batch.voice,
            batch.start,
            batch.temperature,
            [phrase.text for phrase in batch.phrases],
            kind=PHRASE_KIND,
        )

    async def generation(self, generation_id: int, chat_id: int) -> GenerationRecord | None:
        """The generation, only if it was shown in this chat (else it's a forged button)."""
        record = await self.repo.generation(generation_id)
        if record is None or record.chat_id != chat_id:
            return None
        return record

    async def save(self, generation_id: int, index: int, chat_id: int, user_id: int) -> SaveResult:
        """Save name (or phrase) ``index`` of a generation shown in ``chat_id`` into
        ``user_id``'s list."""
        record = await self.generation(generation_id, chat_id)
        if record is None or not 0 <= index < len(record.names):
            return SaveResult(SaveStatus.INVALID)
        name = record.names[index]
        added = await self._add(user_id, name, record)
        status = SaveStatus.SAVED if added else SaveStatus.ALREADY
        return SaveResult(status, name, record.user_id, record.kind)

    async def _add(self, user_id: int, name: str, record: GenerationRecord) -> bool:
        """Insert the favourite; when the unique key says it exists but is removed (🗑, the
        sweep has not deleted it yet), bring that row back instead. False: saved already.
        A sweep deleting the row between the two steps just lets the insert through the
        second time round."""
        for _ in range(2):
            if await self.repo.add_favorite(
                user_id, name, record.style, record.prefix, record.id, record.kind
            ):
                return True
            if await self.repo.restore_saved(user_id, name, record.style):
                return True
            if await self.repo.find(user_id, name, record.style) is not None:
                return False
        return False

    async def page(self, user_id: int, page: int) -> FavoritesPage:
        """One page of the list; a page past the end (after deletions) shows the last one."""
        total = await self.repo.count(user_id)
        pages = max(1, math.ceil(total / self.page_size))
        page = min(max(page, 0), pages - 1)
        items = await self.repo.page(user_id, page * self.page_size, self.page_size)
        return FavoritesPage(items, page, pages, total, self.page_size)

    async def prune_generations(self, max_age: timedelta = GENERATION_TTL) -> int:
        """Forget answers older than ``max_age`` so the table does not grow forever."""
        return await self.repo.prune_generations(utcnow() - max_age)

    async def remove(self, user_id: int, favorite_id: int) -> Removal | None:
        """Mark one of the user's favourites removed (undo possible for a while); None when it
        is not theirs or no longer exists (ids in buttons can be forged, lists go stale).
        Removing a removed one again changes nothing (``Removal.first`` is False)."""
        record = await self.repo.get(favorite_id)
        if record is None or record.user_id != user_id:
            return None
        first = await self.repo.mark_removed(user_id, favorite_id, utcnow())
        return Removal(record, first)

    async def undo_removal(
        self, user_id: int, favorite_id: int, window: timedelta
    ) -> tuple[UndoStatus, FavoriteRecord | None]:
        """Bring a removed favourite back if it was removed less than ``window`` ago. The
        conditional UPDATE decides (so the answer is the same on every instance); reading
        the row afterwards only says why it did not restore."""
        restored = await self.repo.restore(user_id, favorite_id, utcnow() - window)
        record = await self.repo.get(favorite_id)
        if record is None:
            return UndoStatus.TOO_LATE, None
        if record.user_id != user_id:
            return UndoStatus.NOT_YOURS, None
        if restored or record.removed_at is None:  # or never removed / restored already
            return UndoStatus.RESTORED, record
        return UndoStatus.TOO_LATE, None

    async def commit_removal(self, favorite_id: int, window: timedelta | None = None) -> bool:
        """Delete a removed favourite for good: at once (the list moved on), or given
        ``window``, only once it has been removed that long. False when it was restored (or
        saved again) meanwhile, or someone else deleted it first."""
        before = None if window is None else utcnow() - window
        return await self.repo.delete_removed(favorite_id, before)

    async def purge_removed(self, window: timedelta) -> int:
        """Delete every favourite (anyone's) removed longer than ``window`` ago."""
        return await self.repo.purge_removed(utcnow() - window)

    async def pending_removals(self, user_id: int, window: timedelta) -> set[int]:
        """The ids of the user's favourites removed less than ``window`` ago (undo open)."""
        return set(await self.repo.removed_since(user_id, utcnow() - window))

    async def all(self, user_id: int) -> list[FavoriteRecord]:
        return await self.repo.page(user_id)


def export_txt(items: list[FavoriteRecord]) -> bytes:
    """One name per line, newest first (as /favorites lists them): easy to paste anywhere."""
    return "".join(f"{item.name}\n" for item in items).encode("utf-8")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will show as text: '=HYPERLINK(…)' or '-Ann' get a leading "'".

    (OWASP's advice against CSV injection; the apostrophe is hidden by Excel and LibreOffice.)
    """
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def export_csv(items: list[FavoriteRecord]) -> bytes:
    """name, style, prefix, saved_at (ISO 8601, UTC), kind, voice; newest first.

    UTF-8 with a BOM, so Excel opens Cyrillic and ë correctly instead of guessing a codepage.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        saved_at = item.saved_at.replace(microsecond=0).isoformat()
        voice = item.style if item.kind == PHRASE_KIND else ""
        writer.writerow(
            [
                spreadsheet_safe(item.name),
                item.style,
                spreadsheet_safe(item.prefix),
                saved_at,
                item.kind or NAME_KIND,
                voice,
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")
