"""Training a phrase model: truncated back-propagation through time over the text stream.

Each epoch the training units (scenes, chapters) are shuffled, joined into one stream and
cut into ``batch_size`` contiguous rows; the network then reads ``bptt`` characters of every
row per step, and the recurrent state is carried to the next step (detached, so gradients
flow back at most ``bptt`` characters). Each line's speaker is shown as "any" with
probability ``attribute_dropout``, so "any" is the learned mixture, as in the name models.

A stream barely teaches the speaker: the scene so far already says much of who talks, so a
model trained on the stream alone writes the same lines for every voice. ``cold_lines`` adds
to each step that many whole training lines, each read from a zero state after the newline
primer, which is exactly how a phrase is sampled: there, the speaker is all the model knows.

AdamW, linear warm-up then cosine decay to 5% of the peak learning rate, gradient clipping.
The schedule runs on whichever is further along, steps or the ``max_minutes`` budget, so a
run cut by the clock has still cooled down. Validation (bits/char on held-out scenes or
chapters, from a zero state) every ``eval_every`` steps keeps the best weights; the test
split is scored once at the end, beside the Kneser–Ney 5-gram baseline.
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
from ml.names.model import CharRNN, ModelConfig
from ml.names.vocab import PAD, CharVocab
from ml.phrases.data import Line, PhraseCorpus, Unit, encode_stream, encode_unit
from ml.phrases.evaluate import (
    LN2,
    NGRAM_ORDER,
    NOTEBOOK_TRAIN_NATS,
    bits_by_voice,
    ngram_bits,
    rnn_bits,
    units_nll,
)
from ml.phrases.model import SPEAKER, PhraseModel


@dataclass
class TrainConfig:
    cell: str = "gru"
    embedding_dim: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.25
    bptt: int = 128
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    max_epochs: int = 20
    patience: int = 0  # evaluations without a validation gain before stopping; 0 = never
    eval_every: int = 200  # steps between validation scores (and at the end)
    grad_clip: float = 1.0
    attribute_dropout: float = 0.2
    cold_lines: int = 0  # per step: whole training lines read from a zero state (see above)
    max_chars: int = 200  # the default length cap of a sampled phrase, stored in the checkpoint
    max_minutes: float = 25.0
    seed: int = 1337
    threads: int = 0  # 0 = leave torch's default


def batchify(
    ids: torch.Tensor, speakers: torch.Tensor, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs, targets and the targets' speaker rows as (batch, length): ``batch_size``
    contiguous slices of the stream, the leftover tail dropped."""
    length = (len(ids) - 1) // batch_size
    if length < 1:
        raise ValueError("the training text is shorter than one character per batch row")
    cut = batch_size * length
    x = ids[:cut].view(batch_size, length)
    y = ids[1 : cut + 1].view(batch_size, length)
    a = speakers[1 : cut + 1].view(batch_size, length)
    return x, y, a


def cold_batch(
    lines: list[Line],
    count: int,
    vocab: CharVocab,
    rows: dict[str, int],
    hide_share: float,
    generator: torch.Generator,
    longest: int = 128,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` random lines as (inputs, targets, speaker rows), each ``"\n" + text`` →
    ``text + "\n"``, padded (targets PAD, ignored by the loss), at most ``longest`` long."""
    picks = torch.randint(len(lines), (count,), generator=generator).tolist()
    hidden = (torch.rand(count, generator=generator) < hide_share).tolist()
    encoded = [
        encode_unit(Unit([lines[i]]), vocab, rows, [h]) for i, h in zip(picks, hidden, strict=True)
    ]
    width = min(longest, max(len(ids) for ids, _ in encoded) - 1)
    x = torch.full((count, width), PAD, dtype=torch.long)
    y = torch.full((count, width), PAD, dtype=torch.long)
    a = torch.zeros((count, width), dtype=torch.long)
    for row, (ids, speakers) in enumerate(encoded):
        n = min(width, len(ids) - 1)
        x[row, :n], y[row, :n], a[row, :n] = ids[:n], ids[1 : n + 1], speakers[1 : n + 1]
    return x, y, a


def detach(state: object) -> object:
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()  # type: ignore[union-attr]


def train_phrases(
    corpus: PhraseCorpus, out: str | Path, config: TrainConfig, show_progress: bool = True
) -> dict[str, object]:
    """Train; save the best checkpoint to ``out`` with metrics JSON and loss plot."""
    if config.threads:
        torch.set_num_threads(config.threads)
    generator = seed_everything(config.seed)
    vocab = CharVocab(corpus.chars)
    rows = corpus.speaker_rows()
    train_units, val_units, test_units = (corpus.split(s) for s in ("train", "val", "test"))
    if not train_units or not val_units:
        raise ValueError("need training and validation units (at least 9 scenes or chapters)")
    model = CharRNN(
        ModelConfig(
            vocab_size=len(vocab),
            cell=config.cell,
            embedding_dim=config.embedding_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            attributes={SPEAKER: list(corpus.voices)} if corpus.voices else {},
        )
    )
    conditioned = bool(corpus.voices)
    hide = config.attribute_dropout if conditioned else 0.0
    train_lines = [line for unit in train_units for line in unit.lines]
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    train_chars = sum(len(u.text) for u in train_units)
    steps_per_epoch = math.ceil(train_chars // config.batch_size / config.bptt)
    total_steps = steps_per_epoch * config.max_epochs
    budget_seconds = config.max_minutes * 60

    def validate() -> float:
        nats, count = units_nll(model, val_units, vocab, rows)
        return nats / count

    history: list[dict[str, float]] = []
    best_val, best_state, best_step, bad_evals = float("inf"), None, 0, 0
    step, started, window, stopped_because = 0, time.perf_counter(), 0.0, "max_epochs"
    cold_window = 0.0
    epoch, chars_seen = 0, 0
    bar = tqdm(total=total_steps, desc=f"phrases-{corpus.name}", disable=not show_progress)
    done = False
    while not done and epoch < config.max_epochs:
        epoch += 1
        order = torch.randperm(len(train_units), generator=generator).tolist()
        ids, speakers = encode_stream(
            [train_units[i] for i in order],
            vocab,
            rows,
            hide_share=hide,
            generator=generator,
        )
        x_all, y_all, a_all = batchify(ids, speakers, config.batch_size)
        state = None
        model.train()
        for t in range(0, x_all.shape[1], config.bptt):
            x, y = x_all[:, t : t + config.bptt], y_all[:, t : t + config.bptt]
            attributes = a_all[:, t : t + config.bptt, None] if conditioned else None
            # past warm-up, the schedule follows the clock when the clock is further along
            by_clock = int((time.perf_counter() - started) / budget_seconds * total_steps)
            at = step if step < config.warmup_steps else max(step, by_clock)
            lr_factor = warmup_cosine(at, total_steps, config.warmup_steps, floor=0.05)
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * lr_factor
            logits, state = model(x, state, attributes=attributes)
            state = detach(state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            window += loss.item()
            if config.cold_lines:
                cx, cy, ca = cold_batch(
                    train_lines, config.cold_lines, vocab, rows, hide, generator
                )
                cold_logits, _ = model(cx, attributes=ca[..., None] if conditioned else None)
                cold = F.cross_entropy(
                    cold_logits.reshape(-1, cold_logits.size(-1)), cy.reshape(-1), ignore_index=PAD
                )
                cold_window += cold.item()
                loss = loss + cold
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            chars_seen += x.numel()
            bar.update(1)
            if step % 25 == 0:
                point = {"step": step, "train_loss": window / 25, "epoch": epoch}
                if config.cold_lines:
                    point["cold_loss"] = cold_window / 25
                history.append(point)
                bar.set_postfix(loss=f"{window / 25:.3f}", bits=f"{window / 25 / LN2:.3f}")
                window = cold_window = 0.0
            out_of_time = time.perf_counter() - started >= budget_seconds
            last = step >= total_steps or out_of_time
            if step % config.eval_every == 0 or last:
                val_loss = validate()
                minutes = (time.perf_counter() - started) / 60
                history.append({"step": step, "val_loss": val_loss, "epoch": epoch})
                tqdm.write(
                    f"[{corpus.name}] step {step} epoch {epoch}: val {val_loss:.4f} nats "
                    f"= {val_loss / LN2:.4f} bits/char ({minutes:.1f} min)"
                )
                if val_loss < best_val - 1e-4:
                    best_val, best_step, bad_evals = val_loss, step, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_evals += 1
                    if config.patience and bad_evals >= config.patience:
                        stopped_because = f"early stopping (no val gain in {bad_evals} evaluations)"
                        done = True
                        break
                model.train()
            if out_of_time:
                stopped_because = f"time budget of {config.max_minutes} min"
                done = True
                break
    bar.close()
    train_seconds = time.perf_counter() - started
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()

    bundle = PhraseModel(
        corpus=corpus.name,
        model=model,
        vocab=vocab,
        stop=corpus.stop,
        voices=dict(corpus.voices),
        max_chars=config.max_chars,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    bundle.save(out)
    shipped = PhraseModel.load(out)  # score what ships: float16 weights, read back
    test_bits = rnn_bits(shipped, test_units, corpus)
    metrics: dict[str, object] = {
        "corpus": corpus.name,
        "data": corpus.source,
        "units": {s: len(corpus.split(s)) for s in ("train", "val", "test")},
        "chars": {
            "train": train_chars,
            "val": sum(len(u.text) for u in val_units),
            "test": sum(len(u.text) for u in test_units),
        },
        "alphabet": len(vocab.chars),
        "voices": corpus.voices,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": step,
        "epochs_run": round(chars_seen / max(1, train_chars), 2),
        "best_step": best_step,
        "stopped_because": stopped_because,
        "val_bits_per_char": round(best_val / LN2, 4),
        "test_bits_per_char": round(test_bits, 4),
        "test_nats_per_char": round(test_bits * LN2, 4),
    }
    if conditioned:
        metrics["test_bits_per_char_any_speaker"] = round(
            rnn_bits(shipped, test_units, corpus, speakers=False), 4
        )
        metrics["test_bits_per_char_by_voice"] = bits_by_voice(shipped, test_units, corpus)
    metrics["ngram_order"] = NGRAM_ORDER
    metrics["ngram_test_bits_per_char"] = round(
        ngram_bits(corpus, "test", alphabet=set(vocab.chars)), 4
    )
    metrics["notebook_train_bits_per_char"] = round(NOTEBOOK_TRAIN_NATS / LN2, 4)
    metrics["train_seconds"] = round(train_seconds, 1)
    metrics["checkpoint_bytes"] = out.stat().st_size
    metrics["config"] = asdict(config)
    shipped.meta = {k: metrics[k] for k in ("test_bits_per_char", "ngram_test_bits_per_char")}
    shipped.meta["parameters"] = metrics["parameters"]
    shipped.save(out)
    save_training_report(
        out.with_suffix(""),
        history,
        metrics,
        title=f"phrases-{corpus.name} ({config.cell} {config.num_layers}×{config.hidden_size})",
    )
    return metrics
