"""Favourite names and phrases: remember answers server-side, save/list/remove/export per user.

Buttons only ever carry ids (a generation id and an index, a favourite id). Anything they say
is checked here against the database, so a forged or stale button can at worst be refused.

Removing is two steps, so a stray 🗑 never loses a name: ``remove`` only hides the favourite
(lists, counts and exports leave it out) and ``undo_removal`` shows it again; the row is
deleted by ``commit_removal`` once the undo window has passed. Hidden ids live in memory: if
the bot stops inside the window, the name simply stays saved.
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
    TOO_LATE = "too_late"  # the removal went through: the row is gone
    NOT_YOURS = "not_yours"


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
        self._hidden: dict[int, FavoriteRecord] = {}  # removed, undo still possible; by id

    def _hidden_ids(self, user_id: int) -> list[int]:
        return [fid for fid, record in self._hidden.items() if record.user_id == user_id]

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
        added = await self.repo.add_favorite(
            user_id, name, record.style, record.prefix, record.id, record.kind
        )
        if not added:  # saved before; if it was just removed (undo pending), it is back now
            existing = await self.repo.find(user_id, name, record.style)
            if existing is not None and self._hidden.pop(existing.id, None) is not None:
                added = True
        status = SaveStatus.SAVED if added else SaveStatus.ALREADY
        return SaveResult(status, name, record.user_id, record.kind)

    async def page(self, user_id: int, page: int) -> FavoritesPage:
        """One page of the list; a page past the end (after deletions) shows the last one."""
        hidden = self._hidden_ids(user_id)
        total = await self.repo.count(user_id, hidden)
        pages = max(1, math.ceil(total / self.page_size))
        page = min(max(page, 0), pages - 1)
        items = await self.repo.page(user_id, page * self.page_size, self.page_size, hidden)
        return FavoritesPage(items, page, pages, total, self.page_size)

    async def prune_generations(self, max_age: timedelta = GENERATION_TTL) -> int:
        """Forget answers older than ``max_age`` so the table does not grow forever."""
        return await self.repo.prune_generations(utcnow() - max_age)

    async def remove(self, user_id: int, favorite_id: int) -> FavoriteRecord | None:
        """Hide one of the user's favourites until ``commit_removal`` deletes it; None when it
        is not theirs (ids in buttons can be forged). Removing a hidden one again is a no-op."""
        record = self._hidden.get(favorite_id) or await self.repo.get(favorite_id)
        if record is None or record.user_id != user_id:
            return None
        self._hidden[favorite_id] = record
        return record

    async def undo_removal(
        self, user_id: int, favorite_id: int
    ) -> tuple[UndoStatus, FavoriteRecord | None]:
        """Show a removed favourite again, if its removal has not gone through yet."""
        record = self._hidden.get(favorite_id)
        if record is None:  # not hidden: deleted already, or never removed (a restart)
            record = await self.repo.get(favorite_id)
            if record is None:
                return UndoStatus.TOO_LATE, None
        if record.user_id != user_id:
            return UndoStatus.NOT_YOURS, None
        self._hidden.pop(favorite_id, None)
        return UndoStatus.RESTORED, record

    async def commit_removal(self, favorite_id: int) -> bool:
        """Delete a removed favourite for good (the undo window is over); False when it was
        restored (or saved again) meanwhile."""
        record = self._hidden.pop(favorite_id, None)
        if record is None:
            return False
        return await self.repo.remove(record.user_id, favorite_id)

    def is_hidden(self, favorite_id: int) -> bool:
        return favorite_id in self._hidden

    async def all(self, user_id: int) -> list[FavoriteRecord]:
        return await self.repo.page(user_id, hidden=self._hidden_ids(user_id))


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
