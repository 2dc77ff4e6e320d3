"""ml/names/nameset.py: the compact set the checkpoints' real names are loaded into."""

from __future__ import annotations

import random

import pytest

from ml.names.nameset import NameSet


def test_it_answers_like_a_frozenset_of_the_same_names() -> None:
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyzéёжя'- "
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(3000)]
    reference = frozenset(names)
    compact = NameSet(names)
    assert len(compact) == len(reference)
    assert list(compact) == sorted(reference)
    probes = names[:500] + ["".join(rng.choice(alphabet) for _ in range(5)) for _ in range(500)]
    probes += ["", "zzzzzzzzzz", "a", " ", names[0] + "x", names[0][:-1]]
    for probe in probes:
        assert (probe in compact) == (probe in reference), probe
    assert compact == reference and sorted(compact) == sorted(reference)


def test_it_is_a_sequence_for_drawing_a_random_name() -> None:
    names = NameSet(["serena", "anna", "boris", "anna"])
    assert [names[i] for i in range(len(names))] == ["anna", "boris", "serena"]
    assert names[-1] == "serena"
    assert random.Random(1).choice(names) in {"anna", "boris", "serena"}
    with pytest.raises(IndexError):
        names[3]


def test_empty_and_odd_members() -> None:
    empty = NameSet()
    assert len(empty) == 0 and list(empty) == [] and "anna" not in empty
    assert 3 not in NameSet(["anna"])  # not a string: not a name
    assert "" not in NameSet(["", "anna"])  # the empty string is never stored
    assert "a\nb" not in NameSet(["a\nb"])  # nor anything holding the separator
