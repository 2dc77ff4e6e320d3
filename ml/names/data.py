"""Reading name lists and splitting them the way makemore does, so test numbers compare."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ml.names.vocab import BOS, EOS, PAD, CharVocab, normalize_name


def read_names(paths: Sequence[str | Path], max_words: int = 0) -> list[str]:
    """Non-empty stripped lines of the given files, in order, normalised to lower case.

    Duplicates are kept on purpose: makemore's split is defined over lines, not unique names.
    Lines containing a tab (a TSV row) keep only their first column. ``max_words`` > 0 drops
    longer entries (e.g. "Alfrida of the Yale" from a list of single fantasy names).
    """
    names: list[str] = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
            name = normalize_name(line.split("\t", 1)[0])
            if name and (max_words <= 0 or len(name.split()) <= max_words):
                names.append(name)
    return names


def makemore_split(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(train, test) exactly as makemore: seed 3407, randperm, test = last min(1000, 10%)."""
    n = len(names)
    test_size = min(1000, int(n * 0.1))
    # A private generator: same permutation as makemore's torch.manual_seed(3407), without
    # reseeding the global RNG (which would undo --seed for weight init and dropout).
    rp = torch.randperm(n, generator=torch.Generator().manual_seed(3407)).tolist()
    train = [names[i] for i in rp[: n - test_size]]
    test = [names[i] for i in rp[n - test_size :]]
    return train, test


def carve_validation(
    train: Sequence[str], size: int, generator: torch.Generator
) -> tuple[list[str], list[str]]:
    """Split a validation slice off the training names for early stopping."""
    order = torch.randperm(len(train), generator=generator).tolist()
    val = [train[i] for i in order[:size]]
    rest = [train[i] for i in order[size:]]
    return rest, val


def encode_attributes(rows: Sequence[tuple[int, ...]]) -> torch.Tensor | None:
    """Attribute row indices of a batch as a (batch, n_attributes) tensor, or None."""
    if not rows or not rows[0]:
        return None
    return torch.tensor(rows, dtype=torch.long)


def encode_batch(names: Sequence[str], vocab: CharVocab) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``<s> c1 .. cn`` and targets ``c1 .. cn </s>``, right-padded with PAD."""
    width = max(len(name) for name in names) + 1
    inputs = torch.full((len(names), width), PAD, dtype=torch.long)
    targets = torch.full((len(names), width), PAD, dtype=torch.long)
    for row, name in enumerate(names):
        ids = vocab.encode(name)
        inputs[row, : len(ids) + 1] = torch.tensor([BOS, *ids])
        targets[row, : len(ids) + 1] = torch.tensor([*ids, EOS])
    return inputs, targets
