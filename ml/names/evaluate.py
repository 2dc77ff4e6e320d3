"""Test loss on the makemore split and the share of novel samples."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ml.names.corpora import NameCorpus, NameRow
from ml.names.data import encode_attributes, encode_batch, makemore_split, read_names
from ml.names.model import PART, CharRNN, NameModel
from ml.names.sample import sample_names
from ml.names.stepper import GRUStepper
from ml.names.vocab import PAD, CharVocab, normalize_name


@torch.no_grad()
def mean_nll(
    model: CharRNN | GRUStepper,
    names: Sequence[str],
    vocab: CharVocab,
    batch_size: int = 512,
    attributes: Sequence[tuple[int, ...]] | None = None,
) -> float:
    """Mean cross-entropy in nats per character over all names (end token in, padding out).

    ``attributes`` gives each name's attribute row indices for a conditional model. ``model``
    may be the served ``GRUStepper`` (``NameModel.served``), which the evaluation scores.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(names), batch_size):
        inputs, targets = encode_batch(names[start : start + batch_size], vocab)
        conditions = (
            encode_attributes(attributes[start : start + batch_size]) if attributes else None
        )
        logits, _ = model(inputs, attributes=conditions)
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


# How a conditional corpus's held-out names are scored, by the trainer and by eval-names alike:
# a fixed draw of EVAL_DRAWS rows by weight, seeded per split.
EVAL_DRAWS = 6000
VAL_SEED, TEST_SEED = 1, 2


def draw_rows(rows: Sequence[NameRow], n: int, seed: int = 0) -> list[NameRow]:
    """``n`` rows drawn by weight with replacement: a held-out set as the trainer samples it.

    The NLL over such a draw is the expected loss on names as often as they occur (damped),
    which is what sampling at t=1 is trying to match.
    """
    if not rows:
        return []
    weights = torch.tensor([r.weight for r in rows], dtype=torch.double)
    picks = torch.multinomial(
        weights, n, replacement=True, generator=torch.Generator().manual_seed(seed)
    )
    return [rows[i] for i in picks.tolist()]


def rows_nll(model: CharRNN | GRUStepper, rows: Sequence[NameRow], vocab: CharVocab) -> float:
    return mean_nll(model, [r.text for r in rows], vocab, attributes=[r.attributes for r in rows])


def nll_by_attribute(
    model: CharRNN | GRUStepper, rows: Sequence[NameRow], vocab: CharVocab
) -> dict[str, float]:
    """NLL with each row's own attributes, per attribute value ("sex=f", "era=1920", …).

    Also ``all`` (every row) and ``all_any`` (every row with all attributes but the name part
    set to "any"), so the cost of not choosing is visible next to the conditioned numbers.
    """
    schema = model.config.attributes
    out = {"all": round(rows_nll(model, rows, vocab), 4)}
    if not schema:
        return out
    names = list(schema)
    keep_part = names.index(PART) if PART in names else -1
    anonymous = [
        NameRow(r.text, tuple(v if i == keep_part else 0 for i, v in enumerate(r.attributes)), 1)
        for r in rows
    ]
    out["all_any"] = round(rows_nll(model, anonymous, vocab), 4)
    for i, name in enumerate(names):
        for j, value in enumerate(schema[name], start=1):
            subset = [r for r in rows if r.attributes[i] == j]
            if subset:
                out[f"{name}={value}"] = round(rows_nll(model, subset, vocab), 4)
    return out


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: Sequence[str | Path],
    samples: int = 1000,
    seed: int = 0,
    quantize: bool = False,
) -> dict[str, float | int | str]:
    """Everything ``python -m ml eval-names`` reports, as a dict.

    The data is filtered the way the checkpoint was trained (``max_words`` is kept in it).
    """
    bundle = NameModel.load(checkpoint, quantize=quantize)
    names = read_names(data, int(bundle.meta.get("max_words", 0)))
    train, test = makemore_split(names)
    unknown = sorted({ch for name in test for ch in bundle.vocab.unknown_chars(name)})
    if unknown:
        raise ValueError(f"test names contain characters the model never saw: {unknown}")
    started = time.perf_counter()
    test_nll = mean_nll(bundle.served, test, bundle.vocab)  # what sampling runs
    nll_seconds = time.perf_counter() - started
    train_set = set(train)
    # makemore's test set repeats names from train (a unisex name is listed twice); the
    # deduplicated score is the honest "never seen this name" number
    unseen = [name for name in test if name not in train_set]
    unseen_nll = mean_nll(bundle.served, unseen, bundle.vocab) if unseen else float("nan")

    generated = sample_names(bundle, "", samples, temperature=1.0, seed=seed, unique=False)
    novel = sum(1 for g in generated if normalize_name(g.text) not in train_set)
    return {
        "checkpoint": str(checkpoint),
        "style": bundle.style,
        "test_nll": round(test_nll, 4),
        "test_nll_unseen": round(unseen_nll, 4),
        "n_train": len(train),
        "n_test": len(test),
        "n_test_unseen": len(unseen),
        "samples": len(generated),
        "novel_share": round(novel / max(1, len(generated)), 4),
        "eval_seconds": round(nll_seconds, 3),
    }


def evaluate_corpus_checkpoint(
    checkpoint: str | Path,
    corpus: NameCorpus,
    samples: int = 1000,
    eval_draws: int = EVAL_DRAWS,
    quantize: bool = False,
) -> dict[str, object]:
    """``eval-names --corpus``: the held-out NLL of a conditional model, per attribute.

    The test draw is the trainer's (same seed and size), so this reproduces the training
    report; ``novel_share`` counts sampled given names (t=1.0, all controls "any") that are in
    no list of the corpus.
    """
    bundle = NameModel.load(checkpoint, quantize=quantize)
    test_rows = draw_rows(corpus.test, eval_draws, seed=TEST_SEED)
    generated = sample_names(bundle, "", samples, temperature=1.0, seed=0, unique=False)
    novel = sum(1 for g in generated if normalize_name(g.text) not in corpus.known_given)
    by_attribute = nll_by_attribute(bundle.served, test_rows, bundle.vocab)
    return {
        "checkpoint": str(checkpoint),
        "style": bundle.style,
        "test_nll": by_attribute["all"],
        "test_nll_by_attribute": by_attribute,
        "n_test_rows": len(corpus.test),
        "samples": len(generated),
        "novel_share": round(novel / max(1, len(generated)), 4),
    }
