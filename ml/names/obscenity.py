"""Obscenity filter for generated names (English and Russian, Latin and Cyrillic script).

The name models learn letter statistics, not meaning, so now and then they invent names
such as "Cuntland" or "Shithprem". This module recognises such names so that callers can
drop them before a user sees them.

Three kinds of terms are read from ``obscene_words.txt`` beside this module:

* **roots** block a name when they occur *anywhere* inside a normalised name part, or inside
  a hyphenated word with its hyphens and apostrophes removed ("Cunt-land", "O'Cunt"). Only
  terms long and specific enough not to hit frequent real names belong here.
* **prefixes** block a part that *starts* with them ("Shithprem", "Ебанат", "Блядин") while
  leaving real names with the same letters inside alone ("Ishita", "Matsushita", "Стеблев").
* **words** block only a part (or a hyphenated word) that *is* the word, optionally with a
  plural or case ending: "Dick" and "Сука" are blocked, "Dickson" and "Сукачёв" are not.

Words separated by spaces are checked one by one and never glued together: joining "Rowan
Kinloric" or "Nara Pellison" would create "wank" and "rape" out of innocent names.

There is no whitelist: a real name that contains a root (e.g. "Acunto") is blocked too.
Callers that know a name is real (it comes from a dataset) may skip the check; the list is
chosen so that such hits are rare (``tests/test_obscenity.py`` measures this on real lists).

Pure Python with no project imports, so the bot, the trainers and the benches can all use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

WORDLIST_PATH = Path(__file__).with_name("obscene_words.txt")
SECTIONS = ("roots", "prefixes", "words")

# Spaces separate words; hyphens and apostrophes (and their typographic look-alikes) separate
# parts of one word, which are checked both apart and glued together.
_WORD_SEPARATORS = re.compile(r"[\s_/,.;:!?()\[\]{}\"«»]+")
_PART_SEPARATORS = re.compile(r"[-\u2010-\u2015'\u2018\u2019\u02bc`]+")

# Look-alike letters, applied only to parts that mix scripts ("xуй" typed with a Latin x).
# A mixed part is converted towards its majority script; single-script parts are unchanged.
_LATIN_TO_CYRILLIC = str.maketrans("aceopxyktmbh", "асеорхуктмвн")
_CYRILLIC_TO_LATIN = str.maketrans("асеорхукт", "aceopxykt")

# Endings a [words] entry may carry and still match: the English plural ("-es" only after a
# sibilant, so "clit" does not block the surname "Clites"), and common Russian case/number
# endings added to the entry's stem (the entry minus a final vowel, ь or й). The genitive
# plural "-ов" is left out on purpose: "Суков" and "Херов" are real surnames.
_SIBILANT_FINALS = ("s", "x", "z", "ch", "sh")
_CYRILLIC_ENDINGS = (
    *("а", "я", "ы", "и", "у", "ю", "е", "о", "ой", "ей", "ою"),
    *("ом", "ем", "ам", "ям", "ами", "ями", "ах", "ях"),
)
_CYRILLIC_STEM_FINALS = "аяоеьй"


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _fold_letters(text: str) -> str:
    """Lower-case, strip accents (ё → е, é → e) but keep й, and drop everything but letters."""
    # NFKD splits й into и + breve like any accented letter; put it back, since й is a letter
    # of its own in Russian (Май is not Маи), unlike ё, which is routinely written as е.
    decomposed = unicodedata.normalize("NFKD", text.casefold()).replace("и\u0306", "й")
    return "".join(ch for ch in decomposed if ch.isalpha())


def _unify_script(part: str) -> str:
    """Map look-alike letters of the minority script onto the majority one in a mixed part."""
    cyrillic = sum(1 for ch in part if _is_cyrillic(ch))
    latin = sum(1 for ch in part if "a" <= ch <= "z")
    if cyrillic and latin:
        return part.translate(_LATIN_TO_CYRILLIC if cyrillic >= latin else _CYRILLIC_TO_LATIN)
    return part


def _normalize_part(raw: str) -> str:
    return _unify_script(_fold_letters(raw))


def normalize_for_matching(text: str) -> str:
    """``text`` as terms see it: lower case, letters only, separators removed.

    ``ё`` becomes ``е`` (the list is written with ``е``), accents go ("Zoë" → "zoe"), ``й``
    stays, and look-alike letters in a part that mixes Latin and Cyrillic are unified.
    """
    return "".join(_normalize_part(raw) for raw in re.split(r"[\W_]+", text))


def match_candidates(name: str) -> list[str]:
    """The normalised strings of ``name`` that terms are matched against.

    For every space-separated word: the word with hyphens and apostrophes removed, then,
    if it had several, each of its parts. Empty strings are dropped.
    """
    candidates: list[str] = []
    for word in _WORD_SEPARATORS.split(name):
        parts = [p for p in map(_normalize_part, _PART_SEPARATORS.split(word)) if p]
        if not parts:
            continue
        candidates.append("".join(parts))
        if len(parts) > 1:
            candidates.extend(parts)
    return candidates


def _word_forms(word: str) -> set[str]:
    """A [words] entry with the endings it may carry (see the header of obscene_words.txt)."""
    if any(_is_cyrillic(ch) for ch in word):
        stem = word[:-1] if len(word) > 3 and word[-1] in _CYRILLIC_STEM_FINALS else word
        return {word} | {stem + ending for ending in _CYRILLIC_ENDINGS}
    return {word, word + ("es" if word.endswith(_SIBILANT_FINALS) else "s")}


class ObscenityFilter:
    """Blocks names with a root anywhere, a part starting with a prefix, or a listed word.

    Terms are normalised like names, so a list may be written in any case and with ё.
    """

    def __init__(
        self, roots: Iterable[str], words: Iterable[str], prefixes: Iterable[str] = ()
    ) -> None:
        self.roots: tuple[str, ...] = _normalized_terms(roots)
        self.prefixes: tuple[str, ...] = _normalized_terms(prefixes)
        self.words: tuple[str, ...] = _normalized_terms(words)
        # One alternation per kind is several times faster than a loop of ``in`` checks.
        self._root_re = _alternation(self.roots)
        self._prefix_re = _alternation(self.prefixes)
        # Form → entry; shorter entries first so that an entry's own form wins ("tits").
        self._word_forms: dict[str, str] = {}
        for word in sorted(self.words, key=len):
            for form in _word_forms(word):
                self._word_forms.setdefault(form, word)
        self._word_forms.update((word, word) for word in self.words)

    @classmethod
    def from_file(cls, path: str | Path) -> ObscenityFilter:
        """Read a list in the ``obscene_words.txt`` format."""
        terms = parse_wordlist(Path(path).read_text(encoding="utf-8"))
        return cls(terms["roots"], terms["words"], terms["prefixes"])

    @classmethod
    def default(cls) -> ObscenityFilter:
        """The filter for the list shipped beside this module (read once, then cached)."""
        return _default_filter()

    def first_match(self, name: str) -> str | None:
        """Why ``name`` is blocked: ``"root:…"``, ``"prefix:…"`` or ``"word:…"``; else None.

        Meant for benches and debugging, so that a dropped name can be explained.
        """
        for candidate in match_candidates(name):
            if self._root_re and (found := self._root_re.search(candidate)):
                return f"root:{found.group()}"
            if self._prefix_re and (found := self._prefix_re.match(candidate)):
                return f"prefix:{found.group()}"
            word = self._word_forms.get(candidate)
            if word is not None:
                return f"word:{word}"
        return None

    def is_obscene(self, name: str) -> bool:
        """True when a word or part of ``name`` contains a root, starts with a prefix or is a
        listed word."""
        return self.first_match(name) is not None


def _normalized_terms(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({t for t in map(normalize_for_matching, terms) if t}))


def _alternation(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex matching any of ``terms`` (longest first, so reports name the longest term)."""
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)))


def parse_wordlist(text: str) -> dict[str, list[str]]:
    """Terms per section (``roots``, ``prefixes``, ``words``) of a list file.

    ``#`` starts a comment; blank lines are skipped; a section starts with a ``[name]`` line.
    """
    sections: dict[str, list[str]] = {name: [] for name in SECTIONS}
    current: list[str] | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in sections:
                raise ValueError(f"line {lineno}: unknown section [{section}]")
            current = sections[section]
        elif current is None:
            raise ValueError(f"line {lineno}: term {line!r} comes before any section")
        else:
            current.append(line)
    return sections


@cache
def _default_filter() -> ObscenityFilter:
    return ObscenityFilter.from_file(WORDLIST_PATH)


def is_obscene(name: str) -> bool:
    """Whether the shipped list blocks ``name``; see :class:`ObscenityFilter`."""
    return _default_filter().is_obscene(name)
