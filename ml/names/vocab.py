"""Character vocabulary for name models.

Names are modelled in lower case (so a prefix matches case-insensitively) and cased again on the
way out. Three special ids come first: padding (ignored by the loss), start (fed before the first
character) and end (the model's way of saying "the name is complete").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<s>", "</s>")


def normalize_name(name: str) -> str:
    """The form a name is modelled in: stripped, single-spaced, lower case."""
    return " ".join(name.split()).lower()


def title_case(name: str) -> str:
    """Case a modelled name like names are written: 'anna-maria' → 'Anna-Maria'.

    ``str.title`` is not used because it upper-cases after every apostrophe ("Ka'Lith"); here
    the starts of words and hyphen parts are raised, and the letter after a one-letter
    apostrophe prefix ("o'brien" → "O'Brien", "d'arcy" → "D'Arcy"), not one mid-word.
    """
    out: list[str] = []
    raise_next = True
    word = 0  # letters so far in the current word
    for ch in name:
        out.append(ch.upper() if raise_next else ch)
        raise_next = ch in " -" or (ch in "'’" and word == 1)
        word = 0 if ch in " -" else word + 1
    return "".join(out)


class CharVocab:
    """Maps characters to ids and back; saved inside every checkpoint as its character list."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars: list[str] = sorted(set(chars))
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("a vocabulary holds single characters only")
        self.stoi = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}
        self.itos = {i: c for c, i in self.stoi.items()}

    @classmethod
    def from_names(cls, names: Iterable[str]) -> CharVocab:
        return cls(ch for name in names for ch in name)

    def __len__(self) -> int:
        return len(self.chars) + len(SPECIALS)

    def __contains__(self, ch: object) -> bool:
        return ch in self.stoi

    def unknown_chars(self, text: str) -> list[str]:
        """Characters of ``text`` the model has never seen, in order of first appearance."""
        seen: dict[str, None] = {}
        for ch in text:
            if ch not in self.stoi:
                seen.setdefault(ch, None)
        return list(seen)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters; raises KeyError on an unknown one (check first)."""
        return [self.stoi[ch] for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Characters for ids, stopping at the end token and skipping other specials."""
        out: list[str] = []
        for i in ids:
            if i == EOS:
                break
            if i in self.itos:
                out.append(self.itos[i])
        return "".join(out)


def fold_to_vocab(text: str, vocab: CharVocab, keep: str = "") -> tuple[str, list[str]]:
    """``text`` in a model's alphabet: a letter it does not know becomes its base letter when
    that one is known (ё → е, é → e); characters in ``keep`` pass as they are (the name
    sampler's separators). Returns the text and the characters still unknown, in order.

    One function for names and phrases, so a prefix and a phrase start are read alike.
    """
    out, unknown = [], []
    for ch in text:
        if ch in vocab or ch in keep:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(c in vocab for c in base):
            out.append(base)
        else:
            out.append(ch)
            if ch not in unknown:
                unknown.append(ch)
    return "".join(out), unknown
