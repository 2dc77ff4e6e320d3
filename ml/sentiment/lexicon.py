"""The words a short-text model has read: what decides whether a message has anything to judge.

Why: the reader used to count a word as known only when the BPE vocabulary holds it as one
token. The vocabularies were learnt from film reviews, so everyday chat words ("ненавижу",
"бесит", "отстой", "кайф") are split into pieces, and a message made of them came out as
"nothing to judge" although the short model reads it confidently ("ненавижу понедельники":
93% negative). The lexicon lists every word and bracket emoticon ("))", "((", ":)") that at
least ``MIN_COUNT`` training texts of the short model contain, so a word users really write
counts as known, while keyboard mashing, a letter held down ("аааааа", never listed: one
distinct letter) and a name nobody wrote about stay unknown.

It is stored in the short checkpoint's ``meta["lexicon"]`` as one newline-joined string
(``python -m ml fit-sentiment-lexicon``; ~300 KB) and loaded into a compact ``NameSet``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from ml.names.nameset import NameSet

MIN_COUNT = 3  # in this many training texts at least: one-off typos and mashing stay out
_WORD = re.compile(r"[^\W\d_]{2,}")
# bracket emoticons; the reader quotes them as units too
EMOTICON = re.compile(r"[()]{2,}|[:;=]-?[()DPp]")


def normalize(word: str) -> str:
    """Lower case, ё → е: how the reader compares words."""
    return word.lower().replace("ё", "е")


def units_of(cleaned: str) -> set[str]:
    """Distinct words (2+ letters, 2+ different letters) and emoticons of a cleaned text.

    Bracket runs are folded to two (")))))" → "))"), so any length matches the lexicon.
    """
    words = {normalize(m.group()) for m in _WORD.finditer(cleaned)}
    units = {w for w in words if len(set(w)) > 1}
    for m in EMOTICON.finditer(cleaned):
        token = m.group()
        units.add(token[:2] if token[0] in "()" else token.replace("-", ""))
    return units


def build_lexicon(texts: list[str], min_count: int = MIN_COUNT) -> NameSet:
    """Units found in at least ``min_count`` of the (cleaned) texts."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(units_of(text))
    return NameSet(unit for unit, n in counts.items() if n >= min_count)


def lexicon_from_meta(meta: dict[str, Any]) -> NameSet | None:
    stored = meta.get("lexicon")
    return NameSet(stored.split("\n")) if stored else None


def fit_lexicon_checkpoint(
    path: str | Path, data_dir: str | Path | None = None, min_count: int = MIN_COUNT
) -> dict[str, Any]:
    """Build the lexicon of a short checkpoint from its training file; store it in its meta.

    The whole training file (train and validation slices): the lexicon only says which words
    exist, it is not a score to be checked on held-out data. The weights are untouched.
    """
    from ml.sentiment.data import load_short_split

    path = Path(path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    texts = load_short_split(ckpt["lang"], "train", data_dir).texts
    lexicon = build_lexicon(texts, min_count)
    ckpt["meta"]["lexicon"] = "\n".join(lexicon)
    report = {"min_count": min_count, "n_texts": len(texts), "n_units": len(lexicon)}
    ckpt["meta"]["lexicon_report"] = report
    torch.save(ckpt, path)
    return report
