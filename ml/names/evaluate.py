"""Test loss on the makemore split and the share of novel samples."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ml.names.data import encode_batch, makemore_split, read_names
from ml.names.model import CharRNN, NameModel
from ml.names.sample import sample_names
from ml.names.vocab import PAD, CharVocab, normalize_name


@torch.no_grad()
def mean_nll(
    model: CharRNN, names: Sequence[str], vocab: CharVocab, batch_size: int = 512
) -> float:
    """Mean cross-entropy in nats per character over all names (end token in, padding out)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(names), batch_size):
        inputs, targets = encode_batch(names[start : start + batch_size], vocab)
        logits, _ = model(inputs)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            targets.reshape(-1),
            ignore_index=PAD,
            reduction="sum",
        )
        total += loss.item()
        count += int((targets != PAD).sum())
    model.train(was_training)
    return total / count


def evaluate_checkpoint(
    checkpoint: str | Path, data: Sequence[str | Path], samples: int = 1000, seed: int = 0
) -> dict[str, float | int | str]:
    """Everything ``python -m ml eval-names`` reports, as a dict.

    The data is filtered the way the checkpoint was trained (``max_words`` is kept in it).
    """
    bundle = NameModel.load(checkpoint)
    names = read_names(data, int(bundle.meta.get("max_words", 0)))
    train, test = makemore_split(names)
    unknown = sorted({ch for name in test for ch in bundle.vocab.unknown_chars(name)})
    if unknown:
        raise ValueError(f"test names contain characters the model never saw: {unknown}")
    started = time.perf_counter()
    test_nll = mean_nll(bundle.model, test, bundle.vocab)
    nll_seconds = time.perf_counter() - started

    train_set = set(train)
    generated = sample_names(bundle, "", samples, temperature=1.0, seed=seed, unique=False)
    novel = sum(1 for g in generated if normalize_name(g.text) not in train_set)
    return {
        "checkpoint": str(checkpoint),
        "style": bundle.style,
        "test_nll": round(test_nll, 4),
        "n_train": len(train),
        "n_test": len(test),
        "samples": len(generated),
        "novel_share": round(novel / max(1, len(generated)), 4),
        "eval_seconds": round(nll_seconds, 3),
    }
