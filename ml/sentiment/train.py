"""Train a sentiment checkpoint: tokenizer, LM pretraining, BiGRU + n-gram channel, report.

Read top to bottom: load and clean data → carve validation slice → train the BPE tokenizer →
encode (truncate for the RNN, hash n-grams for the bag) → pretrain the encoder as forward and
backward language models on the training texts (``--lm-epochs``, see ``pretrain.py``) → NB
ratios → train both channels with AdamW, evaluating on validation and keeping each channel's
best weights → fit the mixer on validation → save one self-contained checkpoint and the
metrics/loss-curve report.
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

from ml.common import seed_everything, warmup_cosine
from ml.sentiment.checkpoint import model_name_for, save_run
from ml.sentiment.data import Split, labels_for, load_split, training_split
from ml.sentiment.evaluate import classification_metrics
from ml.sentiment.features import collate, features_from_ids, length_batches
from ml.sentiment.model import SentimentRNN, count_parameters, fit_mixer, nb_log_ratios
from ml.sentiment.pretrain import ENCODER, LMConfig, pretrain_language_model
from ml.sentiment.tokenizer import encode_batch, train_tokenizer


@dataclass
class Encoded:
    """Model-ready view of a split: full and truncated token ids, n-gram features, labels."""

    full_ids: list[list[int]]  # untruncated, for the language-model stage
    ids: list[list[int]]
    bags: list[np.ndarray]
    labels: list[int]
    n_tokens: list[int]
    truncated: list[bool]


def pick_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 matmuls: ~free speed, same accuracy
    return device


@torch.inference_mode()
def channel_logits(
    model: SentimentRNN, data: Encoded, batch_size: int = 128
) -> tuple[torch.Tensor, torch.Tensor]:
    """RNN and bag logits for a whole split, in the split's original order."""
    model.eval()
    device = model.embedding.weight.device
    n = len(data.ids)
    rnn = torch.zeros(n, model.config["n_classes"])
    bag = torch.zeros_like(rnn)
    for batch in length_batches([len(x) for x in data.ids], batch_size, None):
        tokens, lengths, bag_ids, offsets = collate(
            [data.ids[i] for i in batch], [data.bags[i] for i in batch], device
        )
        idx = torch.tensor(batch)
        rnn[idx] = model.rnn_logits(tokens, lengths).float().cpu()
        bag[idx] = model.bag_logits(bag_ids, offsets).float().cpu()
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


def train(args: argparse.Namespace) -> dict[str, Any]:
    """The whole training run; returns the metrics dict that is also written to JSON."""
    torch.set_num_threads(args.threads)
    gen = seed_everything(args.seed)
    device = pick_device(args.device)
    t_start = time.time()
    labels = labels_for(args.lang)

    # --- data -----------------------------------------------------------------------------
    full = load_split(args.lang, "train", args.data_dir, limit=args.limit, extra=args.extra)
    train_split, val_split = training_split(full, args.val_fraction)
    print(f"train {len(train_split)} / val {len(val_split)} rows, labels {labels}, on {device}")

    # --- tokenizer and encoding -------------------------------------------------------------
    tok = train_tokenizer(train_split.texts, args.vocab_size)
    vocab_size = tok.get_vocab_size()
    buckets = max(args.buckets, vocab_size * 2)

    def encode(split: Split) -> Encoded:
        full = encode_batch(tok, split.texts)  # tokenized once, for both stages
        ids, bags, n_tok, trunc = features_from_ids(
            full, args.head, args.tail, vocab_size, buckets, args.ngram_order
        )
        return Encoded(full, ids, bags, split.labels, n_tok, trunc)

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
    ).to(device)
    pos, neg = labels.index("pos"), labels.index("neg")
    model.nb_ratio.copy_(nb_log_ratios(train_enc.bags, train_enc.labels, buckets, pos=pos, neg=neg))

    # --- stage 1: the encoder learns to read (language-model pretraining) ------------------
    lm_history: list[dict[str, float]] = []
    lm_summary: dict[str, float] = {}
    if args.lm_epochs > 0:
        lm_cfg = LMConfig(
            epochs=args.lm_epochs,
            batch_size=args.lm_batch_size,
            bptt=args.lm_bptt,
            lr=args.lm_lr,
            max_minutes=args.lm_max_minutes or math.inf,
        )
        lm_history, lm_summary = pretrain_language_model(
            model, train_enc.full_ids, val_enc.full_ids, lm_cfg, gen
        )
        print(f"language model: {lm_summary}")

    # --- stage 2: the classifier ---------------------------------------------------------------
    # Parameter groups: the encoder (embedding + GRUs), which after pretraining is tuned more
    # gently (``--encoder-lr-mult``) and frozen for the first ``--freeze-encoder-steps`` steps
    # so the fresh head does not wreck it; the RNN head; the bag channel. Without pretraining
    # there is nothing to protect, so both knobs are off.
    pretrained = args.lm_epochs > 0
    encoder_lr = args.lr * (args.encoder_lr_mult if pretrained else 1.0)
    freeze_steps = args.freeze_encoder_steps if pretrained else 0
    encoder_params = [p for n, p in model.named_parameters() if n.startswith(ENCODER)]
    head_params = [p for n, p in model.named_parameters() if n.startswith("rnn_head")]
    bag_params = [model.bag.weight, model.bag_bias]
    rnn_params = encoder_params + head_params
    opt = torch.optim.AdamW(
        [
            {
                "params": encoder_params,
                "lr": encoder_lr,
                "weight_decay": args.weight_decay,
            },
            {"params": head_params, "lr": args.lr, "weight_decay": args.weight_decay},
            {"params": bag_params, "lr": args.bag_lr, "weight_decay": args.bag_weight_decay},
        ]
    )
    base_lrs = [g["lr"] for g in opt.param_groups]
    class_weight = class_weights(train_enc.labels, len(labels), args.class_weight).to(device)
    print(f"class weights {[round(w, 3) for w in class_weight.tolist()]}")
    steps_per_epoch = math.ceil(len(train_enc.ids) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    eval_every = max(1, steps_per_epoch // args.evals_per_epoch)
    y_val = torch.tensor(val_enc.labels)
    class_weight_cpu = class_weight.cpu()

    # --- training loop ------------------------------------------------------------------------
    history: list[dict[str, float]] = []
    best = {"rnn": (math.inf, None, 0), "bag": (math.inf, None, 0)}  # (loss, state, step)
    since_best, step, running, stop_reason = 0, 0, [], "epochs"
    t_classifier = time.time()
    deadline = t_classifier + args.max_minutes * 60 if args.max_minutes else math.inf
    lengths = [len(x) for x in train_enc.ids]
    for epoch in range(args.epochs):
        batches = length_batches(lengths, args.batch_size, gen)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", mininterval=5)
        for batch in bar:
            model.train()
            # Cosine decay to 10% of the base rate over the planned steps (no warm-up).
            scale = warmup_cosine(step, total_steps, warmup=0, floor=0.1)
            for g, lr in zip(opt.param_groups, base_lrs, strict=True):
                g["lr"] = lr * scale
            if step < freeze_steps:
                opt.param_groups[0]["lr"] = 0.0  # AdamW: no step and no decay at lr 0
            tokens, lens, bag_ids, offsets = collate(
                [train_enc.ids[i] for i in batch], [train_enc.bags[i] for i in batch], device
            )
            y = torch.tensor([train_enc.labels[i] for i in batch], device=device)
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
                v_rnn = F.cross_entropy(rnn_v, y_val, weight=class_weight_cpu).item()
                v_bag = F.cross_entropy(bag_v, y_val, weight=class_weight_cpu).item()
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
                    f"{(time.time() - t_classifier) / 60:.1f} min"
                )
                improved = False
                for name, v in (("rnn", v_rnn), ("bag", v_bag)):
                    if v < best[name][0]:
                        state = {k: t.detach().clone() for k, t in model.state_dict().items()}
                        best[name] = (v, state, step)
                        improved = True
                since_best = 0 if improved else since_best + 1
                if since_best >= args.patience:
                    stop_reason = "early stopping"
                    break
            if time.time() > deadline:
                stop_reason = "time limit"
                break
        bar.close()
        if stop_reason != "epochs":
            break
    train_minutes = (time.time() - t_start) / 60
    classifier_minutes = (time.time() - t_classifier) / 60
    print(f"stopped after {step} steps ({stop_reason}), classifier {classifier_minutes:.1f} min")

    # --- assemble the best of each channel, then fit the mixer on validation ---------------
    if best["rnn"][1] is None:  # never evaluated (e.g. time limit before the first eval)
        best = {k: (math.inf, copy.deepcopy(model.state_dict()), step) for k in best}
    state = best["rnn"][1]
    for k, v in best["bag"][1].items():
        if k.startswith("bag"):
            state[k] = v
    model.load_state_dict(state)
    rnn_v, bag_v = channel_logits(model, val_enc)
    model.cpu()  # the mixer is fitted, and the checkpoint written, from the CPU
    fit_mixer(model, rnn_v, bag_v, y_val, class_weight_cpu)
    model.eval()
    with torch.inference_mode():
        mixed = model.mix(rnn_v, bag_v)
    val_metrics = {
        "val_acc": (mixed.argmax(1) == y_val).float().mean().item(),
        "val_acc_rnn_only": (rnn_v.argmax(1) == y_val).float().mean().item(),
        "val_acc_bag_only": (bag_v.argmax(1) == y_val).float().mean().item(),
        "val_loss": F.cross_entropy(mixed, y_val).item(),
        "val_macro_f1": classification_metrics(y_val.tolist(), mixed.argmax(1).tolist(), labels)[
            "macro_f1"
        ],
    }
    print("validation (mixer fitted here, so slightly optimistic):", val_metrics)

    # --- save -------------------------------------------------------------------------------
    out = Path(args.out)
    model_name = model_name_for(args.lang, pretrained=pretrained)
    metrics: dict[str, Any] = {
        "lang": args.lang,
        "labels": list(labels),
        "model_name": model_name,
        "device": str(device),
        "n_train": len(train_split),
        "n_val": len(val_split),
        "steps": step,
        "stop_reason": stop_reason,
        "best_step_rnn": best["rnn"][2],
        "best_step_bag": best["bag"][2],
        "train_minutes": round(train_minutes, 2),
        "classifier_minutes": round(classifier_minutes, 2),
        **lm_summary,
        "parameters": count_parameters(model),
        "vocab_size": vocab_size,
        **val_metrics,
        "args": {k: v for k, v in vars(args).items() if k != "func"},
    }
    save_run(
        out,
        model,
        tok,
        args,
        labels,
        {"model_name": model_name, "val": val_metrics, "seed": args.seed},
        metrics,
        lm_history + history,
        f"sentiment-{args.lang}: {model_name}",
    )
    return metrics


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``python -m ml train-sentiment``; defaults are the shipped settings."""
    p.add_argument("--lang", choices=["en", "ru"], required=True)
    p.add_argument("--data-dir", default=None, help="folder holding sentiment/*.csv.gz")
    p.add_argument("--out", required=True, help="checkpoint path, e.g. ml/checkpoints/x.pt")
    p.add_argument("--extra", action="store_true", help="ru: add RuSentiment to training data")
    p.add_argument("--limit", type=int, default=None, help="use only N train rows (tests)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument(
        "--max-minutes", type=float, default=0.0, help="cap on classifier minutes (0: none)"
    )
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--vocab-size", type=int, default=16_000)
    p.add_argument("--buckets", type=int, default=1 << 20, help="n-gram hash buckets")
    p.add_argument("--ngram-order", type=int, default=2, choices=(1, 2, 3), help="bag n-grams")
    p.add_argument("--head", type=int, default=256, help="RNN keeps the first N tokens ...")
    p.add_argument("--tail", type=int, default=256, help="... and the last N tokens")
    p.add_argument("--emb-dim", type=int, default=256)
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--emb-dropout", type=float, default=0.3)
    p.add_argument("--dropout", type=float, default=0.4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--bag-lr", type=float, default=1e-3)
    p.add_argument("--bag-weight-decay", type=float, default=0.0)
    p.add_argument(
        "--class-weight", choices=["none", "balanced"], default="none", help="loss weighting"
    )
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--evals-per-epoch", type=int, default=2)
    p.add_argument("--patience", type=int, default=3, help="evals without any improvement")
    lm = p.add_argument_group("language-model pretraining (ULMFiT-style; 0 epochs = off)")
    lm.add_argument("--lm-epochs", type=int, default=6)
    lm.add_argument("--lm-batch-size", type=int, default=128, help="parallel stream rows")
    lm.add_argument("--lm-bptt", type=int, default=96, help="tokens per truncated-BPTT window")
    lm.add_argument("--lm-lr", type=float, default=2e-3)
    lm.add_argument("--lm-max-minutes", type=float, default=0.0, help="cap (0: none)")
    lm.add_argument(
        "--encoder-lr-mult", type=float, default=0.5, help="encoder LR factor after pretraining"
    )
    lm.add_argument("--freeze-encoder-steps", type=int, default=150, help="heads-only steps first")
