"""Training a name style: AdamW, warm-up + cosine schedule, early stopping on validation.

Two kinds of data, one loop:

* a plain list (``--data names.txt``): makemore's split, one pass over the names per epoch;
  this is how ``names-makemore.pt`` keeps the public benchmark comparable;
* a conditional corpus (``--corpus en|ru|fantasy``, see ``ml.names.corpora``): rows drawn by
  damped frequency, each attribute shown as "any" with probability ``attribute_dropout``.

Test names are never seen in training; a validation set decides when to stop and which
weights to keep.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ml.common import save_training_report, seed_everything, warmup_cosine
from ml.names.corpora import NameCorpus, real_examples, unconditional
from ml.names.data import (
    carve_validation,
    encode_attributes,
    encode_batch,
    makemore_split,
    read_names,
)
from ml.names.evaluate import (
    EVAL_DRAWS,
    TEST_SEED,
    VAL_SEED,
    draw_rows,
    nll_by_attribute,
    rows_nll,
)
from ml.names.model import PART, CharRNN, ModelConfig, NameModel
from ml.names.vocab import PAD, CharVocab


@dataclass
class TrainConfig:
    style: str
    cell: str = "gru"
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.2
    batch_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    max_epochs: int = 40
    patience: int = 4
    grad_clip: float = 1.0
    val_size: int = 1000
    max_minutes: float = 60.0
    max_words: int = 0  # >0: skip data lines with more words than this
    draws_per_epoch: int = 200_000  # conditional corpora: rows drawn per "epoch"
    attribute_dropout: float = 0.2  # chance each attribute is shown as "any" in training
    condition_state: bool = True  # attributes also set the initial hidden state
    eval_draws: int = EVAL_DRAWS  # conditional corpora: rows drawn (by weight) to score val/test
    # sampling's default attribute-guidance scale, stored in the checkpoint (see
    # ml.names.sample.GuidedRNN); it does not change training, only how the model is sampled
    guidance: float = 1.0
    seed: int = 1337
    threads: int = 0  # 0 = leave torch's default


def lr_at(step: int, total: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 5% of the peak learning rate."""
    return config.learning_rate * warmup_cosine(step, total, config.warmup_steps, floor=0.05)


def list_corpus(data: list[str | Path], config: TrainConfig) -> NameCorpus:
    """A plain name list split as makemore splits it, with a validation slice carved off."""
    names = read_names(data, config.max_words)
    if len(names) < 10:
        raise ValueError(f"need at least 10 names to train, got {len(names)}")
    train_all, test = makemore_split(names)
    val_size = min(config.val_size, max(1, len(train_all) // 10))
    generator = torch.Generator().manual_seed(config.seed)
    train, val = carve_validation(train_all, val_size, generator)
    corpus = unconditional(config.style, names, train, val, test)
    corpus.sources = [str(p) for p in data]
    return corpus


def train_names(
    data: list[str | Path] | NameCorpus,
    out: str | Path,
    config: TrainConfig,
    show_progress: bool = True,
) -> dict[str, object]:
    """Train; save the best checkpoint to ``out`` with metrics JSON and loss plot."""
    if config.threads:
        torch.set_num_threads(config.threads)
    generator = seed_everything(config.seed)
    corpus = data if isinstance(data, NameCorpus) else list_corpus(data, config)
    vocab = CharVocab(corpus.chars)
    max_length = corpus.max_text_length + 5
    # What validation and test scores are computed on: every row of a plain list, or a fixed
    # draw by weight from a conditional corpus (names as often as the sampler should give them).
    if corpus.weighted:
        val_rows = draw_rows(corpus.val, config.eval_draws, seed=VAL_SEED)
        test_rows = draw_rows(corpus.test, config.eval_draws, seed=TEST_SEED)
    else:
        val_rows, test_rows = corpus.val, corpus.test

    model = CharRNN(
        ModelConfig(
            vocab_size=len(vocab),
            cell=config.cell,
            embedding_dim=config.embedding_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            attributes=corpus.attributes,
            condition_state=config.condition_state,
        )
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    rows_per_epoch = config.draws_per_epoch if corpus.weighted else len(corpus.train)
    steps_per_epoch = math.ceil(rows_per_epoch / config.batch_size)
    total_steps = steps_per_epoch * config.max_epochs
    weights = torch.tensor([r.weight for r in corpus.train], dtype=torch.double)
    droppable = torch.tensor(
        [name != PART for name in corpus.attributes], dtype=torch.bool
    )  # the name part is never hidden

    history: list[dict[str, float]] = []
    best_val, best_state, best_epoch, bad_epochs = float("inf"), None, 0, 0
    step, started = 0, time.perf_counter()
    stopped_because = "max_epochs"
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        if corpus.weighted:
            order = torch.multinomial(
                weights, rows_per_epoch, replacement=True, generator=generator
            ).tolist()
        else:
            order = torch.randperm(len(corpus.train), generator=generator).tolist()
        running, seen, window = 0.0, 0, 0.0
        bar = tqdm(
            range(0, len(order), config.batch_size),
            desc=f"{config.style} epoch {epoch}",
            disable=not show_progress,
            leave=False,
        )
        for start in bar:
            batch = [corpus.train[i] for i in order[start : start + config.batch_size]]
            inputs, targets = encode_batch([r.text for r in batch], vocab)
            conditions = encode_attributes([r.attributes for r in batch])
            if conditions is not None and config.attribute_dropout > 0:
                hide = torch.rand(conditions.shape, generator=generator) < config.attribute_dropout
                conditions = conditions.masked_fill(hide & droppable, 0)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, config)
            logits, _ = model(inputs, attributes=conditions)
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            running += loss.item()
            window += loss.item()
            seen += 1
            if step % 50 == 0:  # plot the mean of the last 50 steps, not of the whole epoch
                history.append({"step": step, "train_loss": window / 50})
                bar.set_postfix(loss=f"{window / 50:.4f}")
                window = 0.0
        val_loss = rows_nll(model, val_rows, vocab)
        history.append({"step": step, "val_loss": val_loss, "epoch": epoch})
        minutes = (time.perf_counter() - started) / 60
        tqdm.write(
            f"[{config.style}] epoch {epoch}: train {running / max(1, seen):.4f} "
            f"val {val_loss:.4f} ({minutes:.1f} min)"
        )
        if val_loss < best_val - 1e-4:
            best_val, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                stopped_because = f"early stopping (no val gain for {config.patience} epochs)"
                break
        if minutes >= config.max_minutes:
            stopped_because = f"time budget of {config.max_minutes} min"
            break

    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    train_seconds = time.perf_counter() - started
    test_nll = rows_nll(model, test_rows, vocab)
    metrics: dict[str, object] = {
        "style": config.style,
        "data": corpus.sources,
        "n_names": len(corpus.known_given | corpus.known_family),
        "n_train": len(corpus.train),
        "n_val": len(corpus.val),
        "n_test": len(corpus.test),
        "attributes": corpus.attributes,
        "parameters": model.num_parameters(),
        "best_epoch": best_epoch,
        "epochs_run": epoch,
        "stopped_because": stopped_because,
        "val_nll": round(best_val, 4),
        "test_nll": round(test_nll, 4),
        "train_seconds": round(train_seconds, 1),
        "config": asdict(config),
    }
    if corpus.attributes:
        metrics["test_nll_by_attribute"] = nll_by_attribute(model, test_rows, vocab)
    bundle = NameModel(
        style=config.style,
        model=model,
        vocab=vocab,
        known_names=corpus.known_given,
        known_family=corpus.known_family,
        max_length=max_length,
        examples=real_examples(corpus) if corpus.attributes else {},
        meta={
            **{k: metrics[k] for k in ("test_nll", "val_nll", "n_train", "parameters")},
            "max_words": config.max_words,
            "guidance": config.guidance,
        },
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    bundle.save(out)
    # Score the saved (float16) weights too, so the card reports what actually ships.
    metrics["test_nll_shipped"] = round(rows_nll(NameModel.load(out).model, test_rows, vocab), 4)
    save_training_report(
        out.with_suffix(""), history, metrics, title=f"names-{config.style} ({config.cell})"
    )
    return metrics
