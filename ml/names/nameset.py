"""A sorted, read-only set of names kept as one string: the checkpoints' lists of real names.

The en model knows 103,564 real given names and 151,671 surnames. As a ``frozenset`` of Python
strings they took about 23 MB of the bot's memory (an object of ~55 bytes per name plus the
hash table); joined into one string with an array of offsets they take 2.6 MB. Membership is
a binary search over the sorted names (about 18 string comparisons, a few microseconds;
a ``/name`` checks 8-16 names), and the set is also a sequence, so a game can draw a random
real name without copying the list.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence

SEPARATOR = "\n"  # never part of a name: the corpora hold one name per line


class NameSet(Sequence[str]):
    """Distinct names in sorted order; ``name in s``, ``len(s)``, ``s[i]`` and iteration."""

    __slots__ = ("_starts", "_text")

    def __init__(self, names: Iterable[str] = ()) -> None:
        items = sorted({n for n in names if n and SEPARATOR not in n})
        self._text = SEPARATOR.join(items)
        starts = array("I", [0] * (len(items) + 1))
        position = 0
        for i, name in enumerate(items):
            starts[i] = position
            position += len(name) + 1
        starts[len(items)] = position  # one past the end, as if a separator followed the last
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        if not isinstance(index, int):
            raise TypeError("NameSet indices are integers")
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("NameSet index out of range")
        return self._text[self._starts[index] : self._starts[index + 1] - 1]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        i = bisect.bisect_left(self, name)
        return i < len(self) and self[i] == name

    def __iter__(self) -> Iterator[str]:
        return iter(self._text.split(SEPARATOR)) if len(self) else iter(())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NameSet):
            return self._text == other._text
        if isinstance(other, (set, frozenset)):
            return len(other) == len(self) and all(n in other for n in self)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        return f"NameSet({len(self)} names)"
