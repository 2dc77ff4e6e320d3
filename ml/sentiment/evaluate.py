"""Score a checkpoint on a labelled CSV: accuracy, macro-F1, confusion matrix, binary accuracy."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from ml.sentiment.calibration import expected_calibration_error
from ml.sentiment.data import LABELS_3, read_csv
from ml.sentiment.predict import SentimentClassifier
from ml.sentiment.reader import SentimentReader


def classification_metrics(
    y_true: list[int], y_pred: list[int], labels: tuple[str, ...]
) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix (rows = true, columns = predicted)."""
    k = len(labels)
    cm = [[0] * k for _ in range(k)]
    for t, p in zip(y_true, y_pred, strict=True):
        cm[t][p] += 1
    n = len(y_true)
    f1s = []
    for c in range(k):
        tp = cm[c][c]
        fp = sum(cm[r][c] for r in range(k)) - tp
        fn = sum(cm[c]) - tp
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return {
        "accuracy": sum(cm[c][c] for c in range(k)) / max(n, 1),
        "macro_f1": sum(f1s) / k,
        "macro_recall": macro_recall(y_true, y_pred, k),
        "confusion_matrix": cm,
        "labels": list(labels),
        "n": n,
    }


def macro_recall(y_true: list[int], y_pred: list[int], n_classes: int) -> float:
    """Mean per-class recall over the classes present in ``y_true`` (TweetEval's metric)."""
    hits = [0] * n_classes
    totals = [0] * n_classes
    for t, p in zip(y_true, y_pred, strict=True):
        totals[t] += 1
        hits[t] += int(t == p)
    present = [c for c in range(n_classes) if totals[c]]
    return sum(hits[c] / totals[c] for c in present) / max(len(present), 1)


def binary_accuracy(probs: torch.Tensor, y_true: list[int], labels: tuple[str, ...]) -> float:
    """Accuracy on pos/neg rows only, with the argmax restricted to pos vs neg.

    Lets a 3-class model be compared with binary polarity numbers (~94% for TF-IDF+LR).
    """
    pos, neg = labels.index("pos"), labels.index("neg")
    rows = [i for i, y in enumerate(y_true) if y in (pos, neg)]
    if not rows:
        return float("nan")
    correct = sum((pos if probs[i, pos] >= probs[i, neg] else neg) == y_true[i] for i in rows)
    return correct / len(rows)


def evaluate_file(clf: SentimentClassifier, path: str | Path) -> dict[str, Any]:
    """Predict every row of a CSV (raw text: the classifier cleans it) and score it."""
    index = {name: i for i, name in enumerate(clf.labels)}
    rows = [(t, index[y]) for t, y in read_csv(path) if y in index]
    texts, y_true = [t for t, _ in rows], [y for _, y in rows]
    t0 = time.time()
    channels, _, truncated = clf.channel_probabilities(texts)
    seconds = time.time() - t0

    def score(probs: torch.Tensor) -> dict[str, Any]:
        m = classification_metrics(y_true, probs.argmax(1).tolist(), clf.labels)
        if any(clf.labels[y] != "neu" for y in y_true):  # comparable across 2- and 3-class
            m["binary_accuracy"] = binary_accuracy(probs, y_true, clf.labels)
        return m

    metrics = score(channels["mixed"])
    metrics["ece"] = expected_calibration_error(channels["mixed"], torch.tensor(y_true))
    # Each channel alone (its own logits, no mixer): shows what the RNN adds to the n-grams.
    metrics["channels"] = {
        name: {k: v for k, v in score(channels[name]).items() if k not in ("labels", "n")}
        for name in ("rnn", "bag")
    }
    metrics["truncated_fraction"] = float(truncated.float().mean()) if len(texts) else 0.0
    metrics["seconds"] = round(seconds, 1)
    return metrics


def evaluate_reader(reader: SentimentReader, path: str | Path) -> dict[str, Any]:
    """Score what the bot serves (both models, routing, calibration) on a labelled CSV.

    Always 3-class (neg, neu, pos). On a file without neutral rows (IMDB) ``accuracy`` counts a
    neutral verdict as wrong and ``binary_accuracy`` restricts the argmax to pos vs neg; ECE
    is then measured on the pos/neg probabilities renormalised, so it is comparable with a
    binary model's. ``ece_raw`` is the same with every temperature set to 1.
    """
    labels = LABELS_3
    index = {name: i for i, name in enumerate(labels)}
    rows = [(t, index[y]) for t, y in read_csv(path) if y in index]
    texts, y_true = [t for t, _ in rows], [y for _, y in rows]
    t0 = time.time()
    calibrated, raw, used, _, truncated = reader.probabilities(texts)
    seconds = time.time() - t0
    metrics = classification_metrics(y_true, calibrated.argmax(1).tolist(), labels)
    y = torch.tensor(y_true)
    has_neutral = bool((y == index["neu"]).any())
    if any(v in (index["pos"], index["neg"]) for v in y_true):
        metrics["binary_accuracy"] = binary_accuracy(calibrated, y_true, labels)

    def ece(p: torch.Tensor) -> float:
        if has_neutral:
            return expected_calibration_error(p, y)
        polar = p[:, [index["neg"], index["pos"]]]
        polar = polar / polar.sum(1, keepdim=True).clamp(min=1e-9)
        return expected_calibration_error(polar, (y == index["pos"]).long())

    metrics["ece"] = ece(calibrated)
    metrics["ece_raw"] = ece(raw)
    metrics["short_model_fraction"] = sum(u == "short" for u in used) / max(len(used), 1)
    metrics["truncated_fraction"] = sum(truncated) / max(len(truncated), 1)
    metrics["seconds"] = round(seconds, 1)
    return metrics


def run_eval(args: argparse.Namespace) -> int:
    """``python -m ml eval-sentiment``: human-readable lines, then ONE JSON line last.

    ``--lang`` scores what the bot serves (both models of the language, routed, int8);
    ``--checkpoint`` scores one model file alone.
    """
    torch.set_num_threads(args.threads)
    if args.checkpoint is None:
        reader = SentimentReader.load(args.checkpoint_dir, args.lang, quantize=not args.fp32)
        metrics = evaluate_reader(reader, args.data)
        print(f"served {args.lang} reader ({' + '.join(reader.model_names)}) on {args.data}")
        print(
            f"{metrics['n']} rows: accuracy {metrics['accuracy']:.4f}  macro-F1 "
            f"{metrics['macro_f1']:.4f}  macro-recall {metrics['macro_recall']:.4f}"
        )
        if "binary_accuracy" in metrics:
            print(f"binary accuracy (pos vs neg rows) {metrics['binary_accuracy']:.4f}")
        print(f"ECE {metrics['ece']:.4f} (temperature 1: {metrics['ece_raw']:.4f})")
        print(json.dumps({"lang": args.lang, "data": str(args.data), **metrics}))
        return 0
    quantize = not args.fp32 and args.device == "cpu"
    clf = SentimentClassifier.load(args.checkpoint, device=args.device, quantize=quantize)
    metrics = evaluate_file(clf, args.data)
    print(f"{clf.model_name} on {args.data}: {metrics['n']} rows")
    print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}")
    if "binary_accuracy" in metrics:
        print(f"binary accuracy (pos vs neg rows) {metrics['binary_accuracy']:.4f}")
    for name, m in metrics["channels"].items():
        print(f"  {name} channel alone: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}")
    print(json.dumps({"checkpoint": str(args.checkpoint), "data": str(args.data), **metrics}))
    return 0
