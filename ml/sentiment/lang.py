"""Pick the sentiment model for a message by its script: Cyrillic → ru, Latin → en."""

from __future__ import annotations


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff" or "\u0500" <= ch <= "\u052f"


def _is_latin(ch: str) -> bool:
    # ASCII letters plus Latin-1 / Latin Extended-A/B letters (é, ñ, ß ...).
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("\u00c0" <= ch <= "\u024f" and ch.isalpha())


def route_language(text: str) -> str | None:
    """Return "ru" if Cyrillic letters outnumber Latin ones, "en" if Latin wins, else None.

    A tie between non-zero counts goes to "en" (deterministic; a half-and-half message is
    most often an English phrase quoted inside Russian or vice versa, and en is the default
    model). Text with no Cyrillic or Latin letters at all (emoji, digits, other scripts,
    empty) returns None: neither model can read it, so the caller should say so.
    """
    cyr = sum(1 for ch in text if _is_cyrillic(ch))
    lat = sum(1 for ch in text if _is_latin(ch))
    if cyr == 0 and lat == 0:
        return None
    return "ru" if cyr > lat else "en"
