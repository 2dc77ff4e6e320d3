"""User text cleaned once, where it enters the bot: every string of every update.

Bot API JSON may carry what no valid UTF-8 text can: a lone UTF-16 surrogate (``"\\ud800"``)
decodes to a Python string that cannot be encoded again, so echoing it, storing it (SQLite)
or sending it back fails deep inside a handler. Control characters and invisible format
characters (zero-width spaces, bidi overrides) hide inside names and commands. Rather than
each handler guarding against them, ``CleanUpdatesRequest`` (the request object PTB uses for
``getUpdates`` only) cleans the decoded JSON before PTB builds ``Update`` objects from it:

* a lone surrogate becomes U+FFFD (the replacement character, "�");
* C0/C1 control characters are dropped, except tab, newline and carriage return;
* zero-width and bidi-control characters are dropped; a zero-width joiner survives between
  two non-letters, where it glues an emoji sequence (👩‍💻) together;
* message entities (commands, links, bold…) keep pointing at the same characters: their
  UTF-16 offsets are moved to match the shorter text.

Nothing else changes, so ordinary text (Cyrillic, ë, emoji) reaches handlers untouched.
"""

from __future__ import annotations

import re
from typing import Any

from bot.http import AiohttpRequest

__all__ = ["CleanUpdatesRequest", "clean_payload", "clean_text"]

REPLACEMENT = "\ufffd"
ZERO_WIDTH_JOINER = "\u200d"
# Dropped: C0 controls except \t \n \r, DEL and C1 controls; soft hyphen; zero-width space and
# non-joiner; LRM/RLM; bidi embeddings, overrides and isolates; word joiner and invisible
# operators; the BOM / zero-width no-break space. (The joiner is handled on its own.)
_DROPPED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SUSPECT = re.compile(f"{_DROPPED.pattern}|[\ud800-\udfff{ZERO_WIDTH_JOINER}]")
# Keys whose text comes with entities that index into it (UTF-16 offsets).
_ENTITY_KEYS = {"text": "entities", "caption": "caption_entities"}


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _keeps_joiner(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return bool(before and after) and not (before.isalnum() or after.isalnum())


def _cleaned_char(text: str, index: int) -> str:
    ch = text[index]
    if "\ud800" <= ch <= "\udfff":
        return REPLACEMENT
    if ch == ZERO_WIDTH_JOINER:
        return ch if _keeps_joiner(text, index) else ""
    return "" if _DROPPED.match(ch) else ch


def _clean_with_offsets(text: str) -> tuple[str, list[int]]:
    """The cleaned text and, per UTF-16 offset of ``text`` (end included), the new offset."""
    out: list[str] = []
    offsets: list[int] = []
    position = 0
    for index, ch in enumerate(text):
        kept = _cleaned_char(text, index)
        offsets.extend([position] * _utf16_units(ch))
        out.append(kept)
        position += sum(_utf16_units(c) for c in kept)
    offsets.append(position)
    return "".join(out), offsets


def clean_text(text: str) -> str:
    """``text`` without lone surrogates, control and invisible characters (see the module)."""
    if not _SUSPECT.search(text):
        return text
    return _clean_with_offsets(text)[0]


def _moved_entities(entities: list[Any], offsets: list[int]) -> list[Any]:
    """Entities re-pointed at the cleaned text; one left with no characters is dropped."""
    moved = []
    last = len(offsets) - 1
    for entity in entities:
        if not isinstance(entity, dict):
            moved.append(entity)
            continue
        try:
            start = int(entity["offset"])
            end = start + int(entity["length"])
        except (KeyError, TypeError, ValueError):
            moved.append(entity)
            continue
        new_start = offsets[min(max(start, 0), last)]
        new_end = offsets[min(max(end, 0), last)]
        if new_end > new_start:
            moved.append({**entity, "offset": new_start, "length": new_end - new_start})
    return moved


def clean_payload(value: Any) -> Any:
    """Every string in a decoded JSON value cleaned; text + entities pairs kept in step."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_payload(item) for item in value]
    if not isinstance(value, dict):
        return value
    cleaned = {key: clean_payload(item) for key, item in value.items()}
    for text_key, entities_key in _ENTITY_KEYS.items():
        text = value.get(text_key)
        entities = cleaned.get(entities_key)
        if isinstance(text, str) and isinstance(entities, list) and _SUSPECT.search(text):
            cleaned[entities_key] = _moved_entities(entities, _clean_with_offsets(text)[1])
    return cleaned


class CleanUpdatesRequest(AiohttpRequest):
    """The bot's HTTP client for ``getUpdates`` (bot/http.py), cleaning every update before PTB
    parses it.

    Pass as ``ApplicationBuilder().get_updates_request(...)``; PTB uses that request object
    for ``getUpdates`` alone, so the bot's other calls are decoded as usual.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("connection_pool_size", 1)  # what ApplicationBuilder uses for polling
        super().__init__(**kwargs)

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        return clean_payload(super().parse_json_payload(payload))
