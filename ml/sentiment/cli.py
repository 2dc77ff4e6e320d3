"""Subcommands ``train-sentiment`` and ``eval-sentiment`` for ``python -m ml``."""

from __future__ import annotations

import argparse
from typing import Any


def _train(args: argparse.Namespace) -> int:
    from ml.sentiment.train import train  # imported lazily: keeps `python -m ml -h` fast

    train(args)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ml.sentiment.evaluate import run_eval

    return run_eval(args)


def register(subparsers: Any) -> None:
    """Add the sentiment subcommands to the ``python -m ml`` parser."""
    from ml.sentiment.train import add_train_arguments

    p = subparsers.add_parser("train-sentiment", help="train a BiGRU sentiment checkpoint")
    add_train_arguments(p)
    p.set_defaults(func=_train)

    e = subparsers.add_parser("eval-sentiment", help="score a checkpoint on a labelled CSV")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", required=True, help="text,label CSV (.csv or .csv.gz)")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    e.set_defaults(func=_eval)
