"""Train a short-text sentiment checkpoint (one-line messages, 3 classes) on a CPU.

Why a second model per language: the review models read 500-token film reviews and were
trained on nothing else, so a one-line message ("not bad at all", "Отлично") is out of their
distribution. The short model is the same architecture, specialised:

- **Encoder reused.** Tokenizer, embedding and both GRUs start from the shipped review
  checkpoint (``--init``), which was LM-pretrained on reviews; only the 3-class head is new.
  No language-model stage: fine-tuning on short texts is cheap (minutes on a CPU), while an LM
  epoch on a CPU takes hours.
- **Bag channel = TF-IDF logistic regression** over BPE uni+bigrams and character 2-5-grams
  (``char_wb``), fitted by scikit-learn's L-BFGS (well regularised, C picked on validation) and
  copied into the EmbeddingBag: logits = Σ_f (idf_f / ‖idf‖_text) · W_f + b.
  On short posts character n-grams carry much of the signal (inflections, emoticons, typos).
- **RNN channel** fine-tuned with class-balanced cross-entropy (macro metrics), the encoder
  frozen for the first steps and then trained at a lower rate; best step by validation loss.
- **Mixer** (logits of both channels → 3) fitted on the validation slice, its class weighting
  picked there too, then a **temperature** fitted there for honest confidence
  (``calibration.py``); the length up to which the reader routes texts here is stored too.
- ``--stack-folds K`` (``stack.py``, the shipped ru recipe) replaces the validation slice by
  cross-fitting: channels on K-1 folds, mixer and temperature on all out-of-fold logits, then
  both channels retrained on all of train.

Read top to bottom: load → carve validation by hash → encode → idf → bag LR → RNN fine-tune →
mixer → temperature → save checkpoint + metrics JSON + loss plot.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ml.common import seed_everything, warmup_cosine
from ml.sentiment.calibration import expected_calibration_error, fit_temperature
from ml.sentiment.checkpoint import CHECKPOINT_FORMAT, save_run
from ml.sentiment.data import LABELS_3, Split, load_short_split, training_split
from ml.sentiment.evaluate import classification_metrics, macro_recall
from ml.sentiment.features import add_char_ngrams, collate, features_from_ids, length_batches
from ml.sentiment.model import SentimentRNN, count_parameters, fit_mixer, idf_weights
from ml.sentiment.pretrain import ENCODER
from ml.sentiment.tokenizer import encode_batch, tokenizer_from_str
from ml.sentiment.train import Encoded, channel_logits, class_weights


def bag_design_matrix(bags: list[np.ndarray], idf: np.ndarray, buckets: int) -> Any:
    """Sparse TF-IDF rows exactly as the bag channel computes them (binary tf, L2 norm)."""
    import scipy.sparse as sp

    indptr = np.zeros(len(bags) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(b) for b in bags])
    indices = np.concatenate(bags) if bags else np.zeros(0, dtype=np.int64)
    values = idf[indices].astype(np.float64)
    for i in range(len(bags)):
        row = values[indptr[i] : indptr[i + 1]]
        norm = math.sqrt(float((row**2).sum()))
        if norm > 0:
            row /= norm
    return sp.csr_matrix((values, indices, indptr), shape=(len(bags), buckets))


def fit_bag_channel(
    model: SentimentRNN,
    train: Encoded,
    val: Encoded,
    grid: list[float],
    metric: str,
) -> dict[str, Any]:
    """Logistic regression on the bag features; the C with the best validation ``metric`` wins."""
    from sklearn.linear_model import LogisticRegression

    idf = model.nb_ratio.detach().cpu().numpy()
    buckets = model.config["buckets"]
    x_train = bag_design_matrix(train.bags, idf, buckets)
    x_val = bag_design_matrix(val.bags, idf, buckets)
    best: tuple[float, Any, float] | None = None
    scores = {}
    for c in grid:
        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        clf.fit(x_train, train.labels)
        pred = clf.predict(x_val).tolist()
        score = score_predictions(val.labels, pred, metric)
        scores[str(c)] = score
        print(f"bag channel C={c}: val {metric} {score:.4f}")
        if best is None or score > best[0]:
            best = (score, clf, c)
    assert best is not None
    _, clf, c = best
    copy_bag_weights(model, clf)
    return {"bag_C": c, "bag_val_scores": scores}


def fit_bag_lr(model: SentimentRNN, train: Encoded, c: float) -> Any:
    """One logistic regression on the bag features (the model's idf), copied into the model."""
    from sklearn.linear_model import LogisticRegression

    idf = model.nb_ratio.detach().cpu().numpy()
    x_train = bag_design_matrix(train.bags, idf, model.config["buckets"])
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit(x_train, train.labels)
    copy_bag_weights(model, clf)
    return clf


def copy_bag_weights(model: SentimentRNN, clf: Any) -> None:
    """Copy a fitted sklearn LR into the bag channel (EmbeddingBag weights + bias)."""
    buckets = model.config["buckets"]
    # sklearn may drop classes absent from tiny training data; map its rows to ours.
    weight = torch.zeros(buckets, model.config["n_classes"])
    bias = torch.full((model.config["n_classes"],), -10.0)
    coef = torch.from_numpy(np.asarray(clf.coef_, dtype=np.float32))
    icpt = torch.from_numpy(np.asarray(clf.intercept_, dtype=np.float32))
    classes = [int(k) for k in clf.classes_]
    if len(classes) == 2 and coef.shape[0] == 1:  # binary LR stores one row: class 1 vs 0
        coef, icpt = torch.cat([-coef / 2, coef / 2]), torch.cat([-icpt / 2, icpt / 2])
    for row, k in enumerate(classes):
        weight[:, k] = coef[row]
        bias[k] = icpt[row]
    with torch.no_grad():
        model.bag.weight.copy_(weight)
        model.bag_bias.copy_(bias)


# The mixer's class weightings, one chosen on held-out logits: "balanced" optimises macro recall
# (TweetEval's metric) but over-predicts small classes for macro-F1 (RuSentiment's), where the
# square root of the balanced weights or none can do better.
WEIGHTINGS = ("balanced", "sqrt", "none")


def mixer_weight(name: str, labels: list[int]) -> torch.Tensor | None:
    """The mixer's cross-entropy class weights: balanced, their square root, or none."""
    if name == "none":
        return None
    balanced = class_weights(labels, len(LABELS_3), "balanced")
    return balanced.sqrt() if name == "sqrt" else balanced


def routing_length(n_tokens: list[int], head: int, tail: int) -> int:
    """The longest text (in tokens) the reader sends to this model: nearly all (99.5%) of its
    training texts, rounded up to 16 tokens and capped at what the RNN reads whole."""
    p995 = float(np.percentile(n_tokens, 99.5))
    return int(min(head + tail, 16 * math.ceil(p995 / 16)))


def calibrate(mixed: torch.Tensor, y: torch.Tensor, prefix: str) -> tuple[float, dict[str, float]]:
    """The temperature fitted on held-out mixed logits, with the ECE before and after it."""
    temperature = fit_temperature(mixed, y)
    return temperature, {
        f"{prefix}_ece_before": expected_calibration_error(mixed.softmax(1), y),
        f"{prefix}_ece_after": expected_calibration_error((mixed / temperature).softmax(1), y),
    }


def reset_mixer(model: SentimentRNN) -> None:
    """The mixer's starting point: "add the two channels' logits"."""
    n = model.config["n_classes"]
    with torch.no_grad():
        model.mixer.weight.copy_(torch.cat([torch.eye(n), torch.eye(n)], dim=1))
        model.mixer.bias.zero_()


def score_predictions(y_true: list[int], y_pred: list[int], metric: str) -> float:
    """``macro_recall`` (TweetEval's metric) or ``macro_f1`` (RuSentiment's)."""
    if metric == "macro_recall":
        return macro_recall(y_true, y_pred, len(LABELS_3))
    return classification_metrics(y_true, y_pred, LABELS_3)["macro_f1"]


def load_init(args: argparse.Namespace) -> tuple[dict[str, Any], Any, int, tuple[int, int] | None]:
    """The review checkpoint whose encoder is reused, its tokenizer, the bucket count and the
    character n-gram range of the bag."""
    base = torch.load(Path(args.init), map_location="cpu", weights_only=True)
    if base.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{args.init}: not a sentiment checkpoint")
    tok = tokenizer_from_str(base["tokenizer"])
    buckets = max(args.buckets, 2 * base["model_config"]["vocab_size"])
    char_range = (args.char_min, args.char_max) if args.char_max > 0 else None
    return base, tok, buckets, char_range


def encode_split(
    split: Split,
    tok: Any,
    args: argparse.Namespace,
    vocab_size: int,
    buckets: int,
    char_range: tuple[int, int] | None,
) -> Encoded:
    """Token ids (head+tail) for the RNN and hashed BPE + character n-grams for the bag."""
    full_ids = encode_batch(tok, split.texts)
    ids, bags, n_tok, trunc = features_from_ids(
        full_ids, args.head, args.tail, vocab_size, buckets, 2
    )
    if char_range:
        bags = add_char_ngrams(bags, split.texts, char_range, vocab_size, buckets)
    return Encoded(full_ids, ids, bags, split.labels, n_tok, trunc)


def copy_router(meta: dict[str, Any], args: argparse.Namespace) -> None:
    """Carry the learned "post or review" router over from ``--router-from`` (if given).

    The router is a text classifier of its own (``router.py``), independent of the sentiment
    weights, so a retrained short model can keep the one ``fit-sentiment-router`` fitted.
    """
    source = getattr(args, "router_from", None)
    if not source:
        return
    donor = torch.load(Path(source), map_location="cpu", weights_only=True)["meta"]
    if "router" not in donor:
        raise ValueError(f"{source}: its meta has no router")
    for key in ("router", "router_report"):
        if key in donor:
            meta[key] = donor[key]


def new_short_model(
    base: dict[str, Any],
    args: argparse.Namespace,
    buckets: int,
    char_range: tuple[int, int] | None,
) -> SentimentRNN:
    """A fresh short model: the review checkpoint's encoder, a new head, an empty bag."""
    base_cfg = base["model_config"]
    model = SentimentRNN(
        base_cfg["vocab_size"],
        len(LABELS_3),
        emb_dim=base_cfg["emb_dim"],
        hidden=base_cfg["hidden"],
        buckets=buckets,
        emb_dropout=args.emb_dropout,
        dropout=args.dropout,
        ngram_order=2,
        char_ngrams=char_range,
        bag_norm=True,
    )
    encoder_state = {k: v.float() for k, v in base["state_dict"].items() if k.startswith(ENCODER)}
    missing = model.load_state_dict(encoder_state, strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys
    return model


@dataclass
class RnnRun:
    """What one RNN fine-tune did: its loss history, steps taken and the step kept."""

    history: list[dict[str, float]]
    steps: int
    best_step: int
    best_loss: float
    stop_reason: str


def fine_tune_rnn(
    model: SentimentRNN,
    train: Encoded,
    args: argparse.Namespace,
    gen: torch.Generator,
    val: Encoded | None = None,
    early_stopping: bool = True,
    stop_at_step: int | None = None,
    on_eval: Callable[[int, torch.Tensor], None] | None = None,
) -> RnnRun:
    """Fine-tune the encoder + RNN head (the bag stays fixed) with class-balanced CE.

    Evaluates ``evals_per_epoch`` times an epoch. With ``early_stopping`` (the plain recipe)
    the best step by ``val`` loss is restored at the end; without it (cross-fitting) the run
    goes on to ``stop_at_step`` or the last epoch, and ``on_eval(step, val_rnn_logits)`` lets
    the caller record held-out logits at every evaluation point. The cosine schedule always
    spans ``epochs`` epochs, so a run cut at step s follows the learning-rate curve of a full
    one up to s.
    """
    for p in (model.bag.weight, model.bag_bias):
        p.requires_grad_(False)
    encoder_params = [p for n, p in model.named_parameters() if n.startswith(ENCODER)]
    head_params = list(model.rnn_head.parameters())
    opt = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": args.lr * args.encoder_lr_mult},
            {"params": head_params, "lr": args.lr},
        ],
        weight_decay=args.weight_decay,
    )
    base_lrs = [g["lr"] for g in opt.param_groups]
    class_weight = class_weights(train.labels, len(LABELS_3), "balanced")
    y_val = torch.tensor(val.labels) if val is not None else None
    steps_per_epoch = math.ceil(len(train.ids) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    last_step = min(total_steps, stop_at_step) if stop_at_step else total_steps
    eval_every = max(1, steps_per_epoch // args.evals_per_epoch)
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor] | None, int] = (math.inf, None, 0)
    since_best, step, running, stop_reason = 0, 0, [], "epochs"
    deadline = time.time() + args.max_minutes * 60 if args.max_minutes else math.inf
    lengths = [len(x) for x in train.ids]
    t_rnn = time.time()
    for epoch in range(args.epochs):
        bar = tqdm(
            length_batches(lengths, args.batch_size, gen),
            desc=f"epoch {epoch + 1}/{args.epochs}",
            mininterval=5,
        )
        for batch in bar:
            model.train()
            scale = warmup_cosine(step, total_steps, warmup=args.warmup_steps, floor=0.1)
            for g, lr in zip(opt.param_groups, base_lrs, strict=True):
                g["lr"] = lr * scale
            if step < args.freeze_encoder_steps:
                opt.param_groups[0]["lr"] = 0.0
            tokens, lens, _, _ = collate(
                [train.ids[i] for i in batch], [train.bags[i] for i in batch]
            )
            y = torch.tensor([train.labels[i] for i in batch])
            loss = F.cross_entropy(model.rnn_logits(tokens, lens), y, weight=class_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder_params + head_params, args.grad_clip)
            opt.step()
            step += 1
            running.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if step % eval_every == 0 or step == last_step:
                point: dict[str, float] = {
                    "step": step,
                    "epoch": step / steps_per_epoch,
                    "train_loss": float(np.mean(running)),
                }
                running = []
                if val is not None and y_val is not None:
                    rnn_v, _ = channel_logits(model, val)
                    v_loss = F.cross_entropy(rnn_v, y_val, weight=class_weight).item()
                    v_score = score_predictions(
                        val.labels, rnn_v.argmax(1).tolist(), args.select_metric
                    )
                    point["val_loss"] = v_loss
                    point[f"val_{args.select_metric}_rnn"] = v_score
                    tqdm.write(
                        f"step {step}: train {point['train_loss']:.3f} val {v_loss:.3f} "
                        f"{args.select_metric} {v_score:.4f} | {(time.time() - t_rnn) / 60:.1f} min"
                    )
                else:
                    tqdm.write(f"step {step}: train {point['train_loss']:.3f}")
                history.append(point)
                if on_eval is not None and val is not None:
                    on_eval(step, rnn_v)
                if early_stopping and val is not None:
                    if point["val_loss"] < best[0]:
                        state = {k: t.detach().clone() for k, t in model.state_dict().items()}
                        best, since_best = (point["val_loss"], state, step), 0
                    else:
                        since_best += 1
                        if since_best >= args.patience:
                            stop_reason = "early stopping"
                            break
            if step >= last_step and last_step < total_steps:
                stop_reason = "step count from cross-fitting"
                break
            if time.time() > deadline:
                stop_reason = "time limit"
                break
        bar.close()
        if stop_reason != "epochs":
            break
    if best[1] is not None:
        model.load_state_dict(best[1])
    else:
        best = (best[0], None, step)
    print(f"RNN channel: {step} steps ({stop_reason}), best step {best[2]}")
    return RnnRun(history, step, best[2], best[0], stop_reason)


def train_short(args: argparse.Namespace) -> dict[str, Any]:
    """The whole run; returns the metrics dict that is also written to JSON.

    With ``--stack-folds K`` the cross-fitted recipe of ``stack.py`` runs instead.
    """
    if getattr(args, "stack_folds", 0):
        from ml.sentiment.stack import train_short_stacked

        return train_short_stacked(args)
    torch.set_num_threads(args.threads)
    gen = seed_everything(args.seed)
    t_start = time.time()
    labels = LABELS_3
    base, tok, buckets, char_range = load_init(args)
    vocab_size = base["model_config"]["vocab_size"]

    # --- data -----------------------------------------------------------------------------
    full = load_short_split(args.lang, "train", args.data_dir, limit=args.limit)
    train_split, val_split = training_split(full, args.val_fraction)
    print(f"train {len(train_split)} / val {len(val_split)} short texts ({args.lang})")

    def encode(split: Split) -> Encoded:
        return encode_split(split, tok, args, vocab_size, buckets, char_range)

    train_enc, val_enc = encode(train_split), encode(val_split)
    print(f"encoded in {time.time() - t_start:.0f}s")

    # --- model: the review checkpoint's encoder, new head, TF-IDF bag -----------------------
    model = new_short_model(base, args, buckets, char_range)
    model.nb_ratio.copy_(idf_weights(train_enc.bags, buckets, min_df=args.min_df))
    bag_info = fit_bag_channel(model, train_enc, val_enc, args.bag_c, args.select_metric)

    # --- RNN channel: fine-tune encoder + new head ------------------------------------------
    y_val = torch.tensor(val_enc.labels)
    run = fine_tune_rnn(model, train_enc, args, gen, val=val_enc, early_stopping=True)
    history, step, stop_reason = run.history, run.steps, run.stop_reason

    # --- mixer (for the decision) and temperature (for the confidence) on validation --------
    # The mixer's class weighting (``WEIGHTINGS``) is chosen on validation too.
    rnn_v, bag_v = channel_logits(model, val_enc)
    mixer_scores = {}
    best_mixer: tuple[float, str, dict[str, torch.Tensor]] | None = None
    for name in WEIGHTINGS:
        reset_mixer(model)
        fit_mixer(model, rnn_v, bag_v, y_val, mixer_weight(name, train_enc.labels))
        with torch.inference_mode():
            pred_v = model.mix(rnn_v, bag_v).argmax(1).tolist()
        mixer_scores[name] = score_predictions(val_enc.labels, pred_v, args.select_metric)
        print(f"mixer weighted {name}: val {args.select_metric} {mixer_scores[name]:.4f}")
        if best_mixer is None or mixer_scores[name] > best_mixer[0]:
            state = {k: v.clone() for k, v in model.mixer.state_dict().items()}
            best_mixer = (mixer_scores[name], name, state)
    assert best_mixer is not None
    model.mixer.load_state_dict(best_mixer[2])
    model.eval()
    with torch.inference_mode():
        mixed = model.mix(rnn_v, bag_v)
    temperature, ece = calibrate(mixed, y_val, "val")
    route_max_tokens = routing_length(train_enc.n_tokens, args.head, args.tail)
    pred = mixed.argmax(1).tolist()
    val_metrics = {
        "val_macro_recall": macro_recall(val_enc.labels, pred, len(labels)),
        "val_macro_f1": classification_metrics(val_enc.labels, pred, labels)["macro_f1"],
        "val_acc": float((mixed.argmax(1) == y_val).float().mean()),
        "val_macro_recall_rnn_only": macro_recall(
            val_enc.labels, rnn_v.argmax(1).tolist(), len(labels)
        ),
        "val_macro_recall_bag_only": macro_recall(
            val_enc.labels, bag_v.argmax(1).tolist(), len(labels)
        ),
        "mixer_class_weight": best_mixer[1],
        "mixer_val_scores": mixer_scores,
        "route_max_tokens": route_max_tokens,
        "temperature": temperature,
        **ece,
    }
    print("validation (mixer and temperature fitted here, so optimistic):", val_metrics)

    # --- save -------------------------------------------------------------------------------
    out = Path(args.out)
    model_name = f"BiGRU+TF-IDF char/word n-grams · short texts ({args.lang})"
    metrics: dict[str, Any] = {
        "lang": args.lang,
        "domain": "short",
        "labels": list(labels),
        "model_name": model_name,
        "init": str(args.init),
        "n_train": len(train_split),
        "n_val": len(val_split),
        "steps": step,
        "best_step": run.best_step,
        "stop_reason": stop_reason,
        "train_minutes": round((time.time() - t_start) / 60, 2),
        **bag_info,
        "parameters": count_parameters(model),
        **val_metrics,
        "args": {k: v for k, v in vars(args).items() if k != "func"},
    }
    meta = {
        "model_name": model_name,
        "domain": "short",
        "temperature": temperature,
        "route_max_tokens": route_max_tokens,
        "val": val_metrics,
        "seed": args.seed,
    }
    copy_router(meta, args)
    save_run(out, model, tok, args, labels, meta, metrics, history, f"short texts ({args.lang})")
    return metrics


def add_short_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``python -m ml train-sentiment-short``; defaults are the shipped settings."""
    p.add_argument("--lang", choices=["en", "ru"], required=True)
    p.add_argument("--init", required=True, help="review checkpoint whose encoder is reused")
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=None, help="use only N train rows (tests)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--buckets", type=int, default=1 << 19, help="n-gram hash buckets")
    p.add_argument("--char-min", type=int, default=2)
    p.add_argument("--char-max", type=int, default=5, help="0 turns character n-grams off")
    p.add_argument("--min-df", type=int, default=2, help="features in fewer texts are ignored")
    p.add_argument("--bag-c", type=float, nargs="+", default=[1.0, 4.0], help="LR C grid")
    p.add_argument("--select-metric", choices=["macro_recall", "macro_f1"], default="macro_recall")
    p.add_argument("--head", type=int, default=64, help="RNN keeps the first N tokens ...")
    p.add_argument("--tail", type=int, default=64, help="... and the last N tokens")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--encoder-lr-mult", type=float, default=0.5)
    p.add_argument("--freeze-encoder-steps", type=int, default=100)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--emb-dropout", type=float, default=0.2)
    p.add_argument("--dropout", type=float, default=0.4)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--evals-per-epoch", type=int, default=2)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--max-minutes", type=float, default=0.0, help="cap on RNN minutes (0: none)")
    p.add_argument(
        "--stack-folds",
        type=int,
        default=0,
        help="K > 1: cross-fit both channels over K hash folds of all train, fit the mixer and "
        "temperature on the out-of-fold logits, then train both on all of train (0: off)",
    )
    p.add_argument(
        "--router-from",
        default=None,
        help="copy the 'post or review' router from this short checkpoint's meta",
    )
