"""Benchmark the shipped sentiment checkpoints against TF-IDF + logistic regression.

For each language: test accuracy and macro-F1 of the checkpoint and of a TF-IDF (word 1-2
grams) + logistic-regression baseline trained on the same training file with the same
``clean_text`` (so Kinopoisk scores are stripped for both), plus CPU latency p50/p99 for one
~300-word review and throughput for batches of 64. Prints a table, then one JSON line.

    python bench/sentiment.py [--data-dir DIR] [--threads 1] [--langs en ru]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import latency_summary  # bench/timing.py (this script's folder is on sys.path)

from ml.common import data_dir as data_dir_path
from ml.sentiment.data import DATASETS, load_split
from ml.sentiment.evaluate import binary_accuracy, classification_metrics, evaluate_file
from ml.sentiment.predict import SentimentClassifier

CHECKPOINTS = Path(__file__).resolve().parent.parent / "ml" / "checkpoints"


def tfidf_baseline(lang: str, data_dir: str | None) -> dict[str, float]:
    """TF-IDF (1-2 grams, sublinear tf, min_df 2) + LogisticRegression(C=4, balanced classes).

    Class-balanced weights make the baseline stronger on macro-F1 for 3-class Kinopoisk (and
    change nothing on the 50/50 IMDB); a weak baseline would flatter the RNN.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train = load_split(lang, "train", data_dir)
    test = load_split(lang, "test", data_dir)
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=400_000)
    x_train = vec.fit_transform(train.texts)
    clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
    clf.fit(x_train, train.labels)
    probs = torch.tensor(clf.predict_proba(vec.transform(test.texts)))
    m = classification_metrics(test.labels, probs.argmax(1).tolist(), train.label_names)
    out = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    if len(train.label_names) > 2:
        out["binary_accuracy"] = binary_accuracy(probs, test.labels, train.label_names)
    return out


def model_scores(clf: SentimentClassifier, lang: str, data_dir: str | None) -> dict[str, float]:
    """Checkpoint metrics on the test file, exactly as ``python -m ml eval-sentiment`` scores it."""
    m = evaluate_file(clf, data_dir_path(data_dir) / "sentiment" / DATASETS[lang]["test"])
    out = {
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "n": m["n"],
        "truncated_fraction": m["truncated_fraction"],
        "full_test_seconds": m["seconds"],
    }
    if "binary_accuracy" in m:
        out["binary_accuracy"] = m["binary_accuracy"]
    out["channels"] = m["channels"]
    return out


def speed(clf: SentimentClassifier, texts: list[str], runs: int) -> dict[str, float]:
    """Latency of one ~300-word review (p50/p99 over ``runs``) and batch-64 throughput."""
    review = min(texts, key=lambda t: abs(len(t.split()) - 300))
    for _ in range(3):  # warm-up
        clf.predict([review])
    lat = []
    for _ in range(runs):
        t0 = time.perf_counter()
        clf.predict([review])
        lat.append((time.perf_counter() - t0) * 1000)
    batch_texts = texts[: 64 * 8]
    t0 = time.perf_counter()
    for s in range(0, len(batch_texts), 64):
        clf.predict(batch_texts[s : s + 64])
    tput = len(batch_texts) / (time.perf_counter() - t0)
    p50, p99 = latency_summary(lat)
    return {
        "review_words": len(review.split()),
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "throughput_batch64_texts_per_s": tput,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--langs", nargs="+", default=["en", "ru"])
    p.add_argument("--runs", type=int, default=100, help="single-text latency repetitions")
    p.add_argument("--skip-baseline", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    report: dict[str, dict] = {}
    for lang in args.langs:
        ckpt = CHECKPOINTS / f"sentiment-{lang}.pt"
        clf = SentimentClassifier.load(ckpt)
        print(f"[{lang}] {clf.model_name}: {ckpt.name} {ckpt.stat().st_size / 1e6:.1f} MB")
        entry: dict = {"model_name": clf.model_name, "checkpoint_mb": ckpt.stat().st_size / 1e6}
        entry["model"] = model_scores(clf, lang, args.data_dir)
        test_texts = load_split(lang, "test", args.data_dir).texts
        entry["speed"] = speed(clf, test_texts[::7], args.runs)
        if not args.skip_baseline:
            entry["tfidf_lr"] = tfidf_baseline(lang, args.data_dir)
        report[lang] = entry

    def fmt(d: dict, key: str) -> str:
        return f"{100 * d[key]:.2f}" if key in d else "-"

    print()
    print(f"{'lang':4} {'model':28} {'acc %':>7} {'macro-F1':>9} {'bin acc':>8}")
    for lang, e in report.items():
        rows = [
            ("checkpoint", e["model"]),
            ("  RNN channel alone", e["model"]["channels"]["rnn"]),
            ("  bag channel alone", e["model"]["channels"]["bag"]),
            ("TF-IDF + LR", e.get("tfidf_lr")),
        ]
        for name, d in rows:
            if d is not None:
                cells = [fmt(d, "accuracy"), fmt(d, "macro_f1"), fmt(d, "binary_accuracy")]
                print(f"{lang:4} {name:28} {cells[0]:>7} {cells[1]:>9} {cells[2]:>8}")
    print()
    header = f"{'lang':4} {'words':>5} {'p50 ms':>8} {'p99 ms':>8} {'texts/s @64':>12}"
    print(f"{header}  (threads={args.threads})")
    for lang, e in report.items():
        s = e["speed"]
        print(
            f"{lang:4} {s['review_words']:>5} {s['latency_p50_ms']:>8.1f} "
            f"{s['latency_p99_ms']:>8.1f} {s['throughput_batch64_texts_per_s']:>12.1f}"
        )
    print(json.dumps({"threads": args.threads, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
