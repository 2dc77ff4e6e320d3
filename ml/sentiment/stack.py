"""Cross-fitted stacking for the short-text model (``train-sentiment-short --stack-folds K``).

Why: the plain recipe (``short.py``) trains the bag LR and the RNN on 90% of train and fits
the 2C→C mixer and the temperature on the other 10% (2,118 posts for RuSentiment), so the
mixer sees few rows and the channels never see those rows. Here:

1. all of train is cut into K folds by a stable hash of the text (SHA-1, so duplicates stay
   together; independent of the validation hash, which uses other digits);
2. for each fold, the bag LR (each C of the grid) and the RNN fine-tune are trained on the
   other folds; the held-out fold's logits of both channels are recorded at every RNN
   evaluation point;
3. the RNN's step count is the evaluation point with the lowest pooled out-of-fold loss, the
   bag's C the one with the best out-of-fold metric, the mixer's class weighting the one with
   the best cross-validated metric (mixer fitted on K-1 folds' out-of-fold logits, scored on
   the K-th);
4. the mixer and the temperature are fitted on all out-of-fold logits, and both channels are
   trained again on all of train (the RNN for the chosen number of epochs).

It also reports, on the same out-of-fold logits, what the plain recipe's mixer (fitted on a
validation-sized slice) would score, so the two recipes are compared on equal terms.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ml.common import seed_everything
from ml.sentiment.checkpoint import save_run
from ml.sentiment.data import LABELS_3, load_short_split
from ml.sentiment.evaluate import classification_metrics, macro_recall
from ml.sentiment.model import SentimentRNN, count_parameters, fit_mixer, idf_weights
from ml.sentiment.short import (
    WEIGHTINGS,
    calibrate,
    copy_router,
    encode_split,
    fine_tune_rnn,
    fit_bag_lr,
    load_init,
    mixer_weight,
    new_short_model,
    reset_mixer,
    routing_length,
    score_predictions,
)
from ml.sentiment.train import Encoded, channel_logits, class_weights

PLAIN_REPEATS = 3  # random validation-sized slices per fold for the plain recipe's CV number


def hash_folds(texts: list[str], k: int) -> np.ndarray:
    """Fold id per text: SHA-1 digits 9-16 modulo K (the validation split uses digits 1-8)."""
    folds = np.array(
        [int(hashlib.sha1(t.encode("utf-8")).hexdigest()[8:16], 16) % k for t in texts]
    )
    if len(set(folds.tolist())) < k:  # tiny data: every fold must hold something
        folds = np.arange(len(texts)) % k
    return folds


def subset(data: Encoded, rows: np.ndarray) -> Encoded:
    """The rows ``rows`` of an encoded split, in that order."""
    pick = rows.tolist()
    return Encoded(
        [data.full_ids[i] for i in pick],
        [data.ids[i] for i in pick],
        [data.bags[i] for i in pick],
        [data.labels[i] for i in pick],
        [data.n_tokens[i] for i in pick],
        [data.truncated[i] for i in pick],
    )


def fit_and_predict_mixer(
    scratch: SentimentRNN,
    rnn: torch.Tensor,
    bag: torch.Tensor,
    y: list[int],
    fit_rows: np.ndarray,
    weighting: str,
) -> SentimentRNN:
    """Fit ``scratch``'s mixer on ``fit_rows`` of the out-of-fold logits (in place)."""
    fit_labels = [y[i] for i in fit_rows.tolist()]
    idx = torch.from_numpy(fit_rows)
    reset_mixer(scratch)
    fit_mixer(
        scratch, rnn[idx], bag[idx], torch.tensor(fit_labels), mixer_weight(weighting, fit_labels)
    )
    return scratch


def mixed_predictions(scratch: SentimentRNN, rnn: torch.Tensor, bag: torch.Tensor) -> np.ndarray:
    """Argmax of the mixer's output."""
    with torch.inference_mode():
        return scratch.mix(rnn, bag).argmax(1).numpy()


def cross_validate_mixers(
    scratch: SentimentRNN,
    rnn: torch.Tensor,
    bag: torch.Tensor,
    y: list[int],
    folds: np.ndarray,
    metric: str,
    n_val: int,
    seed: int,
) -> dict[str, Any]:
    """Honest CV scores of the stacked mixer (each weighting) and of the plain recipe's mixer.

    Stacked: for each fold, the mixer is fitted on the other folds' out-of-fold logits and
    predicts this fold. Plain: the mixer is fitted on ``n_val`` random rows of the other folds
    (the size of the plain recipe's validation slice), its weighting picked on those same rows
    as ``train_short`` does, ``PLAIN_REPEATS`` times.
    """
    k = int(folds.max()) + 1
    stacked: dict[str, float] = {}
    for weighting in WEIGHTINGS:
        pred = np.zeros(len(y), dtype=np.int64)
        for f in range(k):
            held = np.flatnonzero(folds == f)
            fit_and_predict_mixer(scratch, rnn, bag, y, np.flatnonzero(folds != f), weighting)
            pred[held] = mixed_predictions(scratch, rnn[held], bag[held])
        stacked[weighting] = score_predictions(y, pred.tolist(), metric)
    rng = np.random.default_rng(seed)
    plain = []
    for _ in range(PLAIN_REPEATS):
        pred = np.zeros(len(y), dtype=np.int64)
        for f in range(k):
            held = np.flatnonzero(folds == f)
            others = np.flatnonzero(folds != f)
            slice_rows = np.sort(rng.choice(others, size=min(n_val, len(others)), replace=False))
            best: tuple[float, np.ndarray] | None = None
            for weighting in WEIGHTINGS:
                fit_and_predict_mixer(scratch, rnn, bag, y, slice_rows, weighting)
                on_slice = mixed_predictions(scratch, rnn[slice_rows], bag[slice_rows])
                score = score_predictions([y[i] for i in slice_rows], on_slice.tolist(), metric)
                if best is None or score > best[0]:
                    best = (score, mixed_predictions(scratch, rnn[held], bag[held]))
            assert best is not None
            pred[held] = best[1]
        plain.append(score_predictions(y, pred.tolist(), metric))
    return {"stacked": stacked, "plain_repeats": plain, "plain": float(np.mean(plain))}


def train_short_stacked(args: argparse.Namespace) -> dict[str, Any]:
    """The cross-fitted run; returns the metrics dict that is also written to JSON."""
    torch.set_num_threads(args.threads)
    gen = seed_everything(args.seed)
    t_start = time.time()
    labels = LABELS_3
    k = args.stack_folds
    if k < 2:
        raise ValueError("--stack-folds needs K >= 2")
    base, tok, buckets, char_range = load_init(args)
    vocab_size = base["model_config"]["vocab_size"]
    full = load_short_split(args.lang, "train", args.data_dir, limit=args.limit)
    data = encode_split(full, tok, args, vocab_size, buckets, char_range)
    y = data.labels
    y_all = torch.tensor(y)
    folds = hash_folds(full.texts, k)
    n = len(y)
    print(f"{n} short texts ({args.lang}) in {k} folds: {np.bincount(folds).tolist()}")

    # --- cross-fitting: both channels on K-1 folds, logits on the K-th ----------------------
    oof_bag = {c: torch.zeros(n, len(labels)) for c in args.bag_c}
    rnn_snapshots: list[list[torch.Tensor]] = []  # per fold: held-out RNN logits per eval
    fold_epochs: list[list[float]] = []
    fold_runs = []
    scratch: SentimentRNN | None = None
    for f in range(k):
        t_fold = time.time()
        held = np.flatnonzero(folds == f)
        train_f, held_f = subset(data, np.flatnonzero(folds != f)), subset(data, held)
        model = new_short_model(base, args, buckets, char_range)
        model.nb_ratio.copy_(idf_weights(train_f.bags, buckets, min_df=args.min_df))
        for c in args.bag_c:
            fit_bag_lr(model, train_f, c)
            _, bag_h = channel_logits(model, held_f)
            oof_bag[c][torch.from_numpy(held)] = bag_h
            score = score_predictions(held_f.labels, bag_h.argmax(1).tolist(), args.select_metric)
            print(f"fold {f + 1}/{k} bag C={c}: held-out {args.select_metric} {score:.4f}")
        snapshots: list[torch.Tensor] = []
        run = fine_tune_rnn(
            model,
            train_f,
            args,
            gen,
            val=held_f,
            early_stopping=False,
            on_eval=lambda _step, logits, keep=snapshots: keep.append(logits.clone()),
        )
        rnn_snapshots.append(snapshots)
        fold_epochs.append([h["epoch"] for h in run.history])
        fold_runs.append(
            {
                "fold": f,
                "n_train": len(train_f.labels),
                "n_held_out": len(held),
                "steps": run.steps,
                "history": run.history,
                "minutes": round((time.time() - t_fold) / 60, 2),
            }
        )
        scratch = model

    # --- choices made on out-of-fold numbers only -------------------------------------------
    assert scratch is not None
    n_evals = min(len(s) for s in rnn_snapshots)
    balanced = class_weights(y, len(labels), "balanced")

    def pooled_rnn(j: int) -> torch.Tensor:
        out = torch.zeros(n, len(labels))
        for f in range(k):
            out[torch.from_numpy(np.flatnonzero(folds == f))] = rnn_snapshots[f][j]
        return out

    oof_losses = [
        F.cross_entropy(pooled_rnn(j), y_all, weight=balanced).item() for j in range(n_evals)
    ]
    best_eval = int(np.argmin(oof_losses))
    oof_rnn = pooled_rnn(best_eval)
    best_epoch = float(np.mean([e[best_eval] for e in fold_epochs]))
    bag_scores = {
        str(c): score_predictions(y, oof_bag[c].argmax(1).tolist(), args.select_metric)
        for c in args.bag_c
    }
    bag_c = max(args.bag_c, key=lambda c: bag_scores[str(c)])
    bag_oof = oof_bag[bag_c]
    n_val = max(1, round(args.val_fraction * n))
    cv = cross_validate_mixers(
        scratch, oof_rnn, bag_oof, y, folds, args.select_metric, n_val, args.seed
    )
    weighting = max(WEIGHTINGS, key=lambda w: cv["stacked"][w])
    cv_report = {
        "metric": args.select_metric,
        "folds": k,
        "bag_only": bag_scores[str(bag_c)],
        "rnn_only": score_predictions(y, oof_rnn.argmax(1).tolist(), args.select_metric),
        "stacked": cv["stacked"][weighting],
        "stacked_by_weighting": cv["stacked"],
        "plain_recipe": cv["plain"],
        "plain_recipe_repeats": cv["plain_repeats"],
        "plain_recipe_val_rows": n_val,
        "rnn_oof_loss_per_eval": oof_losses,
        "rnn_best_eval": best_eval,
        "rnn_best_epoch": best_epoch,
        "bag_by_C": bag_scores,
    }
    print(
        "cross-validation (out-of-fold):",
        {k_: v for k_, v in cv_report.items() if "per_eval" not in k_},
    )

    # --- final channels on all of train ------------------------------------------------------
    model = new_short_model(base, args, buckets, char_range)
    model.nb_ratio.copy_(idf_weights(data.bags, buckets, min_df=args.min_df))
    fit_bag_lr(model, data, bag_c)
    steps_per_epoch = math.ceil(n / args.batch_size)
    stop_step = max(1, round(best_epoch * steps_per_epoch))
    run = fine_tune_rnn(model, data, args, gen, early_stopping=False, stop_at_step=stop_step)

    # --- mixer and temperature on all out-of-fold logits -------------------------------------
    reset_mixer(model)
    fit_mixer(model, oof_rnn, bag_oof, y_all, mixer_weight(weighting, y))
    model.eval()
    with torch.inference_mode():
        mixed = model.mix(oof_rnn, bag_oof)
    temperature, ece = calibrate(mixed, y_all, "oof")
    route_max_tokens = routing_length(data.n_tokens, args.head, args.tail)
    pred = mixed.argmax(1).tolist()
    oof_metrics = {
        "oof_macro_recall": macro_recall(y, pred, len(labels)),
        "oof_macro_f1": classification_metrics(y, pred, labels)["macro_f1"],
        "oof_acc": float((mixed.argmax(1) == y_all).float().mean()),
        "mixer_class_weight": weighting,
        "route_max_tokens": route_max_tokens,
        "temperature": temperature,
        **ece,
    }
    print("out-of-fold (mixer and temperature fitted here):", oof_metrics)

    # The plot: the final run's training loss and the pooled out-of-fold RNN loss, both on the
    # final run's step axis (a fold's epoch e is step e · steps_per_epoch here).
    history: list[dict[str, float]] = [dict(h) for h in run.history]
    for j, loss in enumerate(oof_losses):
        epoch = float(np.mean([e[j] for e in fold_epochs]))
        history.append({"step": round(epoch * steps_per_epoch), "epoch": epoch, "val_loss": loss})
    history.sort(key=lambda h: (h["step"], "val_loss" in h))

    out = Path(args.out)
    model_name = f"BiGRU+TF-IDF char/word n-grams · short texts ({args.lang}), cross-fitted"
    metrics: dict[str, Any] = {
        "lang": args.lang,
        "domain": "short",
        "labels": list(labels),
        "model_name": model_name,
        "init": str(args.init),
        "recipe": f"cross-fitted stacking, {k} folds",
        "n_train": n,
        "n_val": 0,
        "steps": run.steps,
        "stop_reason": run.stop_reason,
        "train_minutes": round((time.time() - t_start) / 60, 2),
        "bag_C": bag_c,
        "cv": cv_report,
        "parameters": count_parameters(model),
        **oof_metrics,
        "folds": fold_runs,
        "args": {k_: v for k_, v in vars(args).items() if k_ != "func"},
    }
    meta = {
        "model_name": model_name,
        "domain": "short",
        "temperature": temperature,
        "route_max_tokens": route_max_tokens,
        "val": {
            **oof_metrics,
            "cv": {k_: v for k_, v in cv_report.items() if "per_eval" not in k_},
        },
        "seed": args.seed,
    }
    copy_router(meta, args)
    save_run(
        out,
        model,
        tok,
        args,
        labels,
        meta,
        metrics,
        history,
        f"short texts ({args.lang}), {k}-fold cross-fitted",
    )
    return metrics
