"""Benchmark what the bot serves for sentiment against TF-IDF + logistic regression baselines.

For each language, the served reader (short-text model + review model, routed, int8
GRUs, calibrated) is scored on a long-review test set and a short-text held-out set, next to
TF-IDF + LR baselines trained on the same training file with the same ``clean_text``:

| set                        | metric (issue 9)                          |
|----------------------------|-------------------------------------------|
| IMDB test (en, pos/neg)    | accuracy, argmax over pos/neg             |
| Kinopoisk test (ru)        | macro-F1 and pos-vs-neg binary accuracy   |
| TweetEval val (en, short)  | macro-averaged recall                     |
| RuSentiment test (ru)      | macro-F1                                  |

plus expected calibration error with and without the fitted temperatures, and CPU latency
(one thread) of one short message and one ~300-word review: the served path (int8, with and
without the "why" words) next to the previous path (review model alone, fp32). Prints tables,
then one JSON line.

    python bench/sentiment.py [--data-dir DIR] [--threads 1] [--langs en ru] [--speed-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import latency_summary  # bench/timing.py (this script's folder is on sys.path)

from ml.common import data_dir as data_dir_path
from ml.sentiment.data import DATASETS, LABELS_3, SHORT_DATASETS, Split, load_file
from ml.sentiment.evaluate import binary_accuracy, classification_metrics, evaluate_reader
from ml.sentiment.predict import SentimentClassifier
from ml.sentiment.reader import SentimentReader

CHECKPOINTS = Path(__file__).resolve().parent.parent / "ml" / "checkpoints"
TARGETS = {  # (set, metric) → the target, in %
    ("imdb", "binary_accuracy"): 92.0,
    ("kinopoisk", "macro_f1"): 72.0,
    ("kinopoisk", "binary_accuracy"): 94.3,
    ("tweeteval", "macro_recall"): 68.0,
    ("rusentiment", "macro_f1"): 72.0,
}
SHORT_MESSAGES = {
    "en": "not bad at all, actually quite enjoyed it",
    "ru": "Ну такое, ожидал большего от этого фильма",
}


def sets_for(lang: str) -> list[tuple[str, str, str]]:
    """(name, train file, test file) of the language's review and short-text sets."""
    review = "imdb" if lang == "en" else "kinopoisk"
    short = "tweeteval" if lang == "en" else "rusentiment"
    return [
        (review, DATASETS[lang]["train"], DATASETS[lang]["test"]),
        (short, SHORT_DATASETS[lang]["train"], SHORT_DATASETS[lang]["test"]),
    ]


def load_any(path: Path, lang: str) -> Split:
    """Rows with any of the three labels (binary IMDB rows just never say neu)."""
    return load_file(path, lang, LABELS_3)


def tfidf_baselines(train: Split, test: Split, chars: bool) -> dict[str, dict]:
    """TF-IDF word 1-2 grams + LR (C=4, balanced), and with ``chars`` also + char_wb 2-5 (C=1).

    Class-balanced weights make the baselines stronger on macro metrics; a weak baseline would
    flatter the RNN. The word+char one is the strongest linear baseline we found on short texts.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def fit(vectorizers: list[TfidfVectorizer], c: float) -> dict[str, float]:
        x_train = sp.hstack([v.fit_transform(train.texts) for v in vectorizers]).tocsr()
        x_test = sp.hstack([v.transform(test.texts) for v in vectorizers]).tocsr()
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        clf.fit(x_train, train.labels)
        probs = torch.zeros(len(test.texts), 3)
        probs[:, [int(k) for k in clf.classes_]] = torch.tensor(
            clf.predict_proba(x_test), dtype=torch.float32
        )
        return scores(probs, test.labels)

    def word() -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=400_000
        )

    out = {"tfidf_word": fit([word()], 4.0)}
    if chars:
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
        out["tfidf_word_char"] = fit([word(), char], 1.0)
    return out


def scores(probs: torch.Tensor, y: list[int]) -> dict[str, float]:
    m = classification_metrics(y, probs.argmax(1).tolist(), LABELS_3)
    return {
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "macro_recall": m["macro_recall"],
        "binary_accuracy": binary_accuracy(probs, y, LABELS_3),
    }


def latency(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return latency_summary(samples)


def speed(lang: str, reader: SentimentReader, review: str, runs: int) -> dict[str, float]:
    """p50/p99 ms of one short message and one ~300-word review, served path vs old path."""
    short = SHORT_MESSAGES[lang]
    old = SentimentClassifier.load(CHECKPOINTS / f"sentiment-{lang}.pt")  # fp32, review only
    out: dict[str, float] = {"review_words": len(review.split())}
    cases = {
        "short_served": lambda: reader.read([short], explain=False),
        "short_served_with_why": lambda: reader.read([short], explain=True),
        "review_served": lambda: reader.read([review], explain=False),
        "review_served_with_why": lambda: reader.read([review], explain=True),
        "review_old_fp32": lambda: old.predict([review]),
        "short_old_fp32": lambda: old.predict([short]),
    }
    for name, fn in cases.items():
        p50, p99 = latency(fn, runs)
        out[f"{name}_p50_ms"], out[f"{name}_p99_ms"] = p50, p99
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--langs", nargs="+", default=["en", "ru"])
    p.add_argument("--runs", type=int, default=100, help="single-text latency repetitions")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument(
        "--speed-only",
        action="store_true",
        help="latency alone, in a fresh process (after scoring 25k reviews and fitting the "
        "baselines the same process measures slower)",
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    root = data_dir_path(args.data_dir) / "sentiment"

    report: dict[str, dict] = {}
    for lang in args.langs:
        reader = SentimentReader.load(CHECKPOINTS, lang, quantize=True)
        print(f"[{lang}] served: {' + '.join(reader.model_names)}", flush=True)
        entry: dict = {"models": reader.model_names, "sets": {}}
        review_text = ""
        for name, train_file, test_file in [] if args.speed_only else sets_for(lang):
            t0 = time.time()
            model = evaluate_reader(reader, root / test_file)
            row: dict = {"model": model}
            print(f"  {name}: model scored in {time.time() - t0:.0f}s", flush=True)
            if not args.skip_baseline:
                train = load_any(root / train_file, lang)
                test = load_any(root / test_file, lang)
                row.update(tfidf_baselines(train, test, chars=name in ("tweeteval", "rusentiment")))
                if not review_text and name in ("imdb", "kinopoisk"):
                    review_text = min(test.texts, key=lambda t: abs(len(t.split()) - 300))
            entry["sets"][name] = row
        if not args.skip_speed:
            if not review_text:
                test = load_any(root / DATASETS[lang]["test"], lang)
                review_text = min(test.texts, key=lambda t: abs(len(t.split()) - 300))
            entry["speed"] = speed(lang, reader, review_text, args.runs)
        report[lang] = entry

    def pct(d: dict | None, key: str) -> str:
        return f"{100 * d[key]:.2f}" if d and key in d else "-"

    print()
    header = (
        f"{'set':12} {'metric':16} {'model':>7} {'TF-IDF w':>9} {'TF-IDF w+c':>10} {'target':>7}"
    )
    print(header)
    for e in report.values():
        for name, row in e["sets"].items():
            metrics = [k for (s, k) in TARGETS if s == name] + ["accuracy"]
            for key in dict.fromkeys(metrics):
                target = TARGETS.get((name, key))
                met = (
                    "" if target is None else (" ✓" if 100 * row["model"][key] >= target else " ✗")
                )
                print(
                    f"{name:12} {key:16} {pct(row['model'], key):>7} "
                    f"{pct(row.get('tfidf_word'), key):>9} "
                    f"{pct(row.get('tfidf_word_char'), key):>10} "
                    f"{'≥' + str(target) if target else '':>7}{met}"
                )
    print()
    print(f"{'set':12} {'ECE calibrated':>15} {'ECE T=1':>8} {'short-model share':>18}")
    for e in report.values():
        for name, row in e["sets"].items():
            m = row["model"]
            print(
                f"{name:12} {m['ece']:>15.4f} {m['ece_raw']:>8.4f} "
                f"{m['short_model_fraction']:>18.3f}"
            )
    if not args.skip_speed:
        print()
        print(f"latency, ms, threads={args.threads}: p50 / p99")
        for lang, e in report.items():
            s = e["speed"]
            for case in (
                "short_served",
                "short_served_with_why",
                "short_old_fp32",
                "review_served",
                "review_served_with_why",
                "review_old_fp32",
            ):
                print(f"{lang:3} {case:24} {s[case + '_p50_ms']:>7.1f} / {s[case + '_p99_ms']:.1f}")
    print(json.dumps({"threads": args.threads, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
