"""Benchmark of the shipped name styles: test NLL, novelty, and /name latency.

    .venv/bin/python bench/names.py [--data-dir ../shared/data] [--repeats 200]

Prints a table and, last, one JSON line. Latency is one ``sample_names`` call for 8 names
(what a ``/name`` answer costs), on this machine's CPU, single request at a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from timing import latency_summary  # bench/timing.py (this script's folder is on sys.path)

from ml.common import data_dir
from ml.names.evaluate import evaluate_checkpoint
from ml.names.registry import checkpoint_path, load_all_styles
from ml.names.sample import sample_names

DND_RACES = ("dragonborn", "dwarf", "elf", "halfling", "halforc", "human", "tiefling")
DATA_FILES = {
    "en": ["names/makemore/names.txt"],
    "ru": ["names/ru/ru_first_names_male.txt", "names/ru/ru_first_names_female.txt"],
    "fantasy": [
        *(f"names/dnd/{race}_{sex}.txt" for race in DND_RACES for sex in ("female", "male")),
        "names/fantasy/tolkien_characters.txt",
    ],
}
PREFIXES = {
    "en": ["", "Ser", "Ma", "Jo"],
    "ru": ["", "Сер", "Ма", "Ан"],
    "fantasy": ["", "Ar", "Gal", "Th"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)

    rows = {}
    for style, bundle in load_all_styles().items():
        files = [root / f for f in DATA_FILES.get(style, [])]
        quality = (
            evaluate_checkpoint(checkpoint_path(style), files)
            if files and all(Path(f).exists() for f in files)
            else {}
        )
        timings = []
        for i in range(args.repeats):
            prefix = PREFIXES[style][i % len(PREFIXES[style])]
            started = time.perf_counter()
            sample_names(bundle, prefix, 8, temperature=1.0, seed=i)
            timings.append((time.perf_counter() - started) * 1000)
        p50, p99 = latency_summary(timings)
        rows[style] = {
            "test_nll": quality.get("test_nll"),
            "novel_share": quality.get("novel_share"),
            "parameters": bundle.model.num_parameters(),
            "latency_ms_p50": round(p50, 2),
            "latency_ms_p99": round(p99, 2),
            "names_per_s": round(8 * 1000 / statistics.mean(timings), 1),
        }

    print(f"{'style':6} {'test_nll':>9} {'novel':>6} {'params':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for style, row in rows.items():
        print(
            f"{style:6} {row['test_nll']!s:>9} {row['novel_share']!s:>6} {row['parameters']:>9} "
            f"{row['latency_ms_p50']:>7} {row['latency_ms_p99']:>7}"
        )
    print(json.dumps({"bench": "names", "threads": args.threads, "styles": rows}))


if __name__ == "__main__":
    main()
