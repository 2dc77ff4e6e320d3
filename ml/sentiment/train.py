"""Train a sentiment checkpoint: tokenizer, BiGRU + n-gram channel, early stopping, report.

Read top to bottom: load and clean data → carve validation slice → train the BPE tokenizer →
encode (truncate for the RNN, hash n-grams for the bag) → NB ratios → train both channels with
AdamW, evaluating on validation and keeping each channel's best weights → fit the mixer on
validation → save one self-contained checkpoint and the metrics/loss-curve report.
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ml.common import save_training_report, seed_everything
from ml.sentiment.data import Split, labels_for, load_split, train_val_split
from ml.sentiment.model import (
    SentimentRNN,
    count_parameters,
    fit_mixer,
    hashed_ngrams,
    nb_log_ratios,
    truncate_head_tail,
)
from ml.sentiment.tokenizer import encode_batch, tokenizer_to_str, train_tokenizer

CHECKPOINT_FORMAT = "namecraft-sentiment-v1"


@dataclass
class Encoded:
    """Model-ready view of a split: truncated RNN ids, n-gram features, labels."""

    ids: list[list[int]]
    bags: list[np.ndarray]
    labels: list[int]
    n_tokens: list[int]
    truncated: list[bool]


def encode_texts(
    tok: Any,
    texts: list[str],
    head: int,
    tail: int,
    vocab_size: int,
    buckets: int,
    ngram_order: int = 2,
) -> tuple[list[list[int]], list[np.ndarray], list[int], list[bool]]:
    """Shared by training and inference: tokenize, truncate for the RNN, hash n-grams."""
    all_ids = encode_batch(tok, texts)
    ids, bags, n_tokens, truncated = [], [], [], []
    for full in all_ids:
        cut, was_cut = truncate_head_tail(full, head, tail)
        ids.append(cut if cut else [0])  # an empty text becomes one pad token (length 1)
        bags.append(hashed_ngrams(full, vocab_size, buckets, ngram_order))
        n_tokens.append(len(full))
        truncated.append(was_cut)
    return ids, bags, n_tokens, truncated


def collate(ids: list[list[int]], bags: list[np.ndarray]) -> tuple[torch.Tensor, ...]:
    """Pad token ids into (B, T) and flatten n-gram ids into EmbeddingBag (ids, offsets)."""
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
    tokens = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for i, x in enumerate(ids):
        tokens[i, : len(x)] = torch.tensor(x, dtype=torch.long)
    bag_ids = torch.from_numpy(np.concatenate(bags))
    offsets = torch.tensor([0] + [len(b) for b in bags[:-1]], dtype=torch.long).cumsum(0)
    return tokens, lengths, bag_ids, offsets


def length_batches(
    lengths: list[int], batch_size: int, gen: torch.Generator | None
) -> list[list[int]]:
    """Batches of similar length (less padding, faster GRU), in random order when ``gen``.

    Shuffle, cut into pools of 50 batches, sort each pool by length, slice into batches,
    then shuffle the batches: random enough for SGD, nearly padding-free.
    """
    n = len(lengths)
    order = torch.randperm(n, generator=gen).tolist() if gen is not None else list(range(n))
    pool = batch_size * 50
    batches = []
    for s in range(0, n, pool):
        chunk = sorted(order[s : s + pool], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    if gen is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]
    return batches


@torch.inference_mode()
def channel_logits(
    model: SentimentRNN, data: Encoded, batch_size: int = 128
) -> tuple[torch.Tensor, torch.Tensor]:
    """RNN and bag logits for a whole split, in the split's original order."""
    model.eval()
    n = len(data.ids)
    rnn = torch.zeros(n, model.config["n_classes"])
    bag = torch.zeros_like(rnn)
    for batch in length_batches([len(x) for x in data.ids], batch_size, None):
        tokens, lengths, bag_ids, offsets = collate(
            [data.ids[i] for i in batch], [data.bags[i] for i in batch]
        )
        idx = torch.tensor(batch)
        rnn[idx] = model.rnn_logits(tokens, lengths)
        bag[idx] = model.bag_logits(bag_ids, offsets)
    return rnn, bag


def class_weights(labels: list[int], n_classes: int, mode: str) -> torch.Tensor:
    """Cross-entropy class weights: all ones, or "balanced" = n / (k * count_c).

    Kinopoisk is 59% pos / 24% neg / 17% neu and is scored by macro-F1, which rewards
    recall on the small neutral class; balanced weights trade a little accuracy for it.
    """
    if mode == "none":
        return torch.ones(n_classes)
    counts = torch.bincount(torch.tensor(labels), minlength=n_classes).float().clamp(min=1)
    return counts.sum() / (n_classes * counts)


def save_checkpoint(
    path: Path,
    model: SentimentRNN,
    tok: Any,
    lang: str,
    labels: tuple[str, ...],
    head: int,
    tail: int,
    meta: dict[str, Any],
) -> None:
    """One self-contained file: fp16 weights, config, tokenizer JSON, labels, metadata.

    Weights are stored in fp16 to stay well under the 20 MB budget (the 1M-bucket bag table
    dominates); ``SentimentClassifier.load`` casts them back to fp32.
    """
    state = {k: v.detach().to(torch.float16) for k, v in model.state_dict().items()}
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "lang": lang,
        "labels": list(labels),
        "model_config": model.config,
        "head_tokens": head,
        "tail_tokens": tail,
        "tokenizer": tokenizer_to_str(tok),
        "state_dict": state,
        "meta": meta,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)


def model_name_for(lang: str) -> str:
    """Short human description shown by the bot."""
    corpus = "IMDB" if lang == "en" else "Kinopoisk"
    return f"BiGRU+NB-bigrams · {corpus} ({lang})"


def train(args: argparse.Namespace) -> dict[str, Any]:
    """The whole training run; returns the metrics dict that is also written to JSON."""
    torch.set_num_threads(args.threads)
    gen = seed_everything(args.seed)
    t_start = time.time()
    labels = labels_for(args.lang)

    # --- data -----------------------------------------------------------------------------
    full = load_split(args.lang, "train", args.data_dir, limit=args.limit, extra=args.extra)
    train_split, val_split = train_val_split(full, args.val_fraction)
    if len(val_split) == 0 or len(train_split) == 0:  # tiny data: fall back to a tail slice
        cut = max(1, len(full) // 10)
        train_split = Split(full.texts[cut:], full.labels[cut:], labels)
        val_split = Split(full.texts[:cut], full.labels[:cut], labels)
    print(f"train {len(train_split)} / val {len(val_split)} rows, labels {labels}")

    # --- tokenizer and encoding -------------------------------------------------------------
    tok = train_tokenizer(train_split.texts, args.vocab_size)
    vocab_size = tok.get_vocab_size()
    buckets = max(args.buckets, vocab_size * 2)

    def encode(split: Split) -> Encoded:
        ids, bags, n_tok, trunc = encode_texts(
            tok, split.texts, args.head, args.tail, vocab_size, buckets, args.ngram_order
        )
        return Encoded(ids, bags, split.labels, n_tok, trunc)

    train_enc, val_enc = encode(train_split), encode(val_split)
    print(
        f"vocab {vocab_size}, tokens/text median {int(np.median(train_enc.n_tokens))}, "
        f"truncated {np.mean(train_enc.truncated):.1%} of train texts "
        f"(prep {time.time() - t_start:.0f}s)"
    )

    # --- model --------------------------------------------------------------------------------
    model = SentimentRNN(
        vocab_size,
        len(labels),
        emb_dim=args.emb_dim,
        hidden=args.hidden,
        buckets=buckets,
        emb_dropout=args.emb_dropout,
        dropout=args.dropout,
        ngram_order=args.ngram_order,
    )
    pos, neg = labels.index("pos"), labels.index("neg")
    model.nb_ratio.copy_(nb_log_ratios(train_enc.bags, train_enc.labels, buckets, pos=pos, neg=neg))
    rnn_params = [p for n, p in model.named_parameters() if not n.startswith(("bag", "mixer"))]
    bag_params = [model.bag.weight, model.bag_bias]
    opt = torch.optim.AdamW(
        [
            {"params": rnn_params, "lr": args.lr, "weight_decay": args.weight_decay},
            {"params": bag_params, "lr": args.bag_lr, "weight_decay": args.bag_weight_decay},
        ]
    )
    base_lrs = [g["lr"] for g in opt.param_groups]
    class_weight = class_weights(train_enc.labels, len(labels), args.class_weight)
    print(f"class weights {[round(w, 3) for w in class_weight.tolist()]}")
    steps_per_epoch = math.ceil(len(train_enc.ids) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    eval_every = max(1, steps_per_epoch // args.evals_per_epoch)
    y_val = torch.tensor(val_enc.labels)

    # --- training loop ------------------------------------------------------------------------
    history: list[dict[str, float]] = []
    best = {"rnn": (math.inf, None, 0), "bag": (math.inf, None, 0)}  # (loss, state, step)
    since_best, step, running, stop_reason = 0, 0, [], "epochs"
    deadline = t_start + args.max_minutes * 60 if args.max_minutes else math.inf
    lengths = [len(x) for x in train_enc.ids]
    for epoch in range(args.epochs):
        batches = length_batches(lengths, args.batch_size, gen)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", mininterval=5)
        for batch in bar:
            model.train()
            # Cosine decay to 10% of the base rate over the planned steps.
            frac = min(step / max(1, total_steps), 1.0)
            for g, lr in zip(opt.param_groups, base_lrs, strict=True):
                g["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            tokens, lens, bag_ids, offsets = collate(
                [train_enc.ids[i] for i in batch], [train_enc.bags[i] for i in batch]
            )
            y = torch.tensor([train_enc.labels[i] for i in batch])
            _, rnn, bag = model(tokens, lens, bag_ids, offsets)
            loss_rnn = F.cross_entropy(rnn, y, weight=class_weight)
            loss_bag = F.cross_entropy(bag, y, weight=class_weight)
            opt.zero_grad(set_to_none=True)
            (loss_rnn + loss_bag).backward()
            torch.nn.utils.clip_grad_norm_(rnn_params, args.grad_clip)
            opt.step()
            step += 1
            running.append((loss_rnn.item(), loss_bag.item()))
            bar.set_postfix(rnn=f"{loss_rnn.item():.3f}", bag=f"{loss_bag.item():.3f}")

            if step % eval_every == 0 or step == total_steps:
                rnn_v, bag_v = channel_logits(model, val_enc)
                v_rnn = F.cross_entropy(rnn_v, y_val, weight=class_weight).item()
                v_bag = F.cross_entropy(bag_v, y_val, weight=class_weight).item()
                acc_rnn = (rnn_v.argmax(1) == y_val).float().mean().item()
                acc_bag = (bag_v.argmax(1) == y_val).float().mean().item()
                tr = np.mean(running, axis=0)
                running = []
                history.append(
                    {
                        "step": step,
                        "epoch": step / steps_per_epoch,
                        "train_loss": float(tr[0]),
                        "val_loss": v_rnn,
                        "train_loss_bag": float(tr[1]),
                        "val_loss_bag": v_bag,
                        "val_acc_rnn": acc_rnn,
                        "val_acc_bag": acc_bag,
                    }
                )
                tqdm.write(
                    f"step {step}: rnn train {tr[0]:.3f} val {v_rnn:.3f} acc {acc_rnn:.4f} | "
                    f"bag train {tr[1]:.3f} val {v_bag:.3f} acc {acc_bag:.4f} | "
                    f"{(time.time() - t_start) / 60:.1f} min"
                )
                improved = False
                for name, v in (("rnn", v_rnn), ("bag", v_bag)):
                    if v < best[name][0]:
                        best[name] = (v, copy.deepcopy(model.state_dict()), step)
                        improved = True
                since_best = 0 if improved else since_best + 1
                if since_best >= args.patience:
                    stop_reason = "early stopping"
                    break
            if time.time() > deadline:
                stop_reason = "time limit"
                break
        if stop_reason != "epochs":
            break
    bar.close()
    train_minutes = (time.time() - t_start) / 60
    print(f"stopped after {step} steps ({stop_reason}), {train_minutes:.1f} min")

    # --- assemble the best of each channel, then fit the mixer on validation ---------------
    if best["rnn"][1] is None:  # never evaluated (e.g. time limit before the first eval)
        best = {k: (math.inf, copy.deepcopy(model.state_dict()), step) for k in best}
    state = best["rnn"][1]
    for k, v in best["bag"][1].items():
        if k.startswith("bag"):
            state[k] = v
    model.load_state_dict(state)
    rnn_v, bag_v = channel_logits(model, val_enc)
    fit_mixer(model, rnn_v, bag_v, y_val, class_weight)
    model.eval()
    with torch.inference_mode():
        mixed = model.mix(rnn_v, bag_v)
    val_metrics = {
        "val_acc": (mixed.argmax(1) == y_val).float().mean().item(),
        "val_acc_rnn_only": (rnn_v.argmax(1) == y_val).float().mean().item(),
        "val_acc_bag_only": (bag_v.argmax(1) == y_val).float().mean().item(),
        "val_loss": F.cross_entropy(mixed, y_val).item(),
    }
    print("validation (mixer fitted here, so slightly optimistic):", val_metrics)

    # --- save -------------------------------------------------------------------------------
    out = Path(args.out)
    metrics: dict[str, Any] = {
        "lang": args.lang,
        "labels": list(labels),
        "model_name": model_name_for(args.lang),
        "n_train": len(train_split),
        "n_val": len(val_split),
        "steps": step,
        "stop_reason": stop_reason,
        "best_step_rnn": best["rnn"][2],
        "best_step_bag": best["bag"][2],
        "train_minutes": round(train_minutes, 2),
        "parameters": count_parameters(model),
        "vocab_size": vocab_size,
        **val_metrics,
        "args": {k: v for k, v in vars(args).items() if k != "func"},
    }
    save_checkpoint(
        out,
        model,
        tok,
        args.lang,
        labels,
        args.head,
        args.tail,
        {"model_name": model_name_for(args.lang), "val": val_metrics, "seed": args.seed},
    )
    metrics["checkpoint_bytes"] = out.stat().st_size
    save_training_report(
        out.with_suffix(""), history, metrics, f"sentiment-{args.lang}: {model_name_for(args.lang)}"
    )
    print(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return metrics


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``python -m ml train-sentiment``; defaults are the shipped settings."""
    p.add_argument("--lang", choices=["en", "ru"], required=True)
    p.add_argument("--data-dir", default=None, help="folder holding sentiment/*.csv.gz")
    p.add_argument("--out", required=True, help="checkpoint path, e.g. ml/checkpoints/x.pt")
    p.add_argument("--extra", action="store_true", help="ru: add RuSentiment to training data")
    p.add_argument("--limit", type=int, default=None, help="use only N train rows (tests)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--max-minutes", type=float, default=30.0, help="stop training after this")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--vocab-size", type=int, default=16_000)
    p.add_argument("--buckets", type=int, default=1 << 20, help="n-gram hash buckets")
    p.add_argument("--ngram-order", type=int, default=2, choices=(1, 2, 3), help="bag n-grams")
    p.add_argument("--head", type=int, default=256, help="RNN keeps the first N tokens ...")
    p.add_argument("--tail", type=int, default=256, help="... and the last N tokens")
    p.add_argument("--emb-dim", type=int, default=128)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--emb-dropout", type=float, default=0.3)
    p.add_argument("--dropout", type=float, default=0.4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--bag-lr", type=float, default=1e-3)
    p.add_argument("--bag-weight-decay", type=float, default=0.0)
    p.add_argument(
        "--class-weight", choices=["none", "balanced"], default="none", help="loss weighting"
    )
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--evals-per-epoch", type=int, default=2)
    p.add_argument("--patience", type=int, default=3, help="evals without any improvement")
