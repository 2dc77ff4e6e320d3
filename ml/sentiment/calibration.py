"""Confidence that means something: temperature scaling and expected calibration error.

A classifier's softmax is not a probability until it is checked against held-out data. The
mixer is fitted for the decision (class-balanced, for macro metrics), so its raw softmax can
be over- or under-confident. Temperature scaling (Guo et al., 2017) divides the logits by one
scalar T fitted on validation data; it never changes the argmax, only how sure the model says
it is. ECE (15 equal-width confidence bins) measures the gap between stated confidence and
accuracy, before and after.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, y: torch.Tensor, steps: int = 100) -> float:
    """The T > 0 that minimises the (unweighted) cross-entropy of ``logits / T`` on ``y``."""
    if len(y) == 0:
        return 1.0
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps)
    logits = logits.detach().float().clone()  # may come from inference mode

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), y)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, bins: int = 15) -> float:
    """Weighted mean |accuracy - confidence| over equal-width bins of the top-class probability."""
    if len(y) == 0:
        return float("nan")
    conf, pred = probs.max(dim=1)
    correct = (pred == y).float()
    edges = torch.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.float().mean().item() * abs(
                correct[in_bin].mean().item() - conf[in_bin].mean().item()
            )
    return ece


def calibrate_checkpoint(path: str | Path, data_dir: str | Path | None = None) -> dict[str, float]:
    """Fit a review checkpoint's temperature on its own validation slice and store it in it.

    The slice is the one ``train-sentiment`` carved out of the training file (the same hash
    rule), so no test text is used. The logits come from the served (int8) model. The file's
    weights are untouched; only ``meta["temperature"]`` and ``meta["calibration"]`` change.
    """
    from ml.sentiment.data import load_split, train_val_split
    from ml.sentiment.predict import SentimentClassifier

    path = Path(path)
    clf = SentimentClassifier.load(path, quantize=True)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    val_fraction = ckpt["meta"].get("val_fraction", 0.1)
    _, val = train_val_split(load_split(clf.lang, "train", data_dir), val_fraction)
    logits, _, _ = clf.channel_logits(val.texts)
    y = torch.tensor(val.labels)
    temperature = fit_temperature(logits["mixed"], y)
    report = {
        "temperature": temperature,
        "n_val": len(y),
        "val_ece_before": expected_calibration_error(logits["mixed"].softmax(1), y),
        "val_ece_after": expected_calibration_error((logits["mixed"] / temperature).softmax(1), y),
    }
    ckpt["meta"]["temperature"] = temperature
    short_path = path.with_name(f"sentiment-{clf.lang}-short.pt")
    if len(clf.labels) == 3 and short_path.exists():
        log_review = (logits["mixed"] / temperature).log_softmax(1)
        report.update(choose_short_blend(log_review, short_path, val.texts, val.labels))
        ckpt["meta"]["short_blend"] = report["short_blend"]
    ckpt["meta"]["calibration"] = report
    torch.save(ckpt, path)
    return report


BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def choose_short_blend(
    log_review: torch.Tensor, short_path: Path, texts: list[str], labels: list[int]
) -> dict[str, Any]:
    """Weight w of the short model in the review model's verdict on long texts, by val macro-F1.

    ``log_review`` is the review model's calibrated log-probabilities of ``texts``, already
    computed for its temperature.

    A 3-class review model's verdict becomes softmax((1-w)·log p_review + w·log p_short): the
    short model reads the review's first and last words (``reader.short_view``, as the reader
    does), a second opinion whose errors differ. w = 0 (review model alone) stays when
    nothing beats it.
    """
    from ml.sentiment.evaluate import classification_metrics
    from ml.sentiment.predict import SentimentClassifier
    from ml.sentiment.reader import short_view

    short = SentimentClassifier.load(short_path, quantize=True)
    if len(short.labels) != log_review.shape[1]:
        return {"short_blend": 0.0}
    short_logits, _, _ = short.channel_logits([short_view(t) for t in texts])
    log_short = (short_logits["mixed"] / short.temperature).log_softmax(1)
    scores = {}
    for w in BLEND_GRID:
        pred = ((1 - w) * log_review + w * log_short).argmax(1).tolist()
        scores[str(w)] = classification_metrics(labels, pred, short.labels)["macro_f1"]
    best = max(BLEND_GRID, key=lambda w: (round(scores[str(w)], 6), -w))
    return {"short_blend": best, "short_blend_val_macro_f1": scores}
