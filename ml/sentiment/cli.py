"""Subcommands ``train-sentiment`` and ``eval-sentiment`` for ``python -m ml``."""

from __future__ import annotations

import argparse
from typing import Any


def _train(args: argparse.Namespace) -> int:
    from ml.sentiment.train import train  # imported lazily: keeps `python -m ml -h` fast

    train(args)
    return 0


def _train_short(args: argparse.Namespace) -> int:
    from ml.sentiment.short import train_short

    train_short(args)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import json

    import torch

    from ml.sentiment.calibration import calibrate_checkpoint

    torch.set_num_threads(args.threads)
    print(json.dumps(calibrate_checkpoint(args.checkpoint, args.data_dir)))
    return 0


def _fit_lexicon(args: argparse.Namespace) -> int:
    import json

    from ml.sentiment.lexicon import fit_lexicon_checkpoint

    report = fit_lexicon_checkpoint(args.checkpoint, args.data_dir, min_count=args.min_count)
    print(json.dumps(report))
    return 0


def _fit_router(args: argparse.Namespace) -> int:
    import json

    from ml.sentiment.router import fit_router_checkpoint

    report = fit_router_checkpoint(
        args.checkpoint, args.data_dir, c=args.c, always_short_tokens=args.always_short_tokens
    )
    print(json.dumps(report))
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

    from ml.sentiment.short import add_short_arguments

    s = subparsers.add_parser(
        "train-sentiment-short",
        help="train a short-text (one-line message) checkpoint from a review checkpoint's encoder",
    )
    add_short_arguments(s)
    s.set_defaults(func=_train_short)

    c = subparsers.add_parser(
        "calibrate-sentiment",
        help="fit a review checkpoint's temperature on its validation slice (stored in it)",
    )
    c.add_argument("--checkpoint", required=True)
    c.add_argument("--data-dir", default=None)
    c.add_argument("--threads", type=int, default=1)
    c.set_defaults(func=_calibrate)

    r = subparsers.add_parser(
        "fit-sentiment-router",
        help="fit a short checkpoint's 'short post or review' router (stored in its meta)",
    )
    r.add_argument("--checkpoint", required=True, help="the short checkpoint (…-short.pt)")
    r.add_argument("--data-dir", default=None)
    r.add_argument("--c", type=float, default=16.0, help="inverse L2 strength of the LR")
    r.add_argument("--always-short-tokens", type=int, default=32)
    r.set_defaults(func=_fit_router)

    w = subparsers.add_parser(
        "fit-sentiment-lexicon",
        help="store the words of a short checkpoint's training texts in it (what is judgeable)",
    )
    w.add_argument("--checkpoint", required=True, help="the short checkpoint (…-short.pt)")
    w.add_argument("--data-dir", default=None)
    w.add_argument("--min-count", type=int, default=3, help="in at least this many texts")
    w.set_defaults(func=_fit_lexicon)

    e = subparsers.add_parser("eval-sentiment", help="score a checkpoint on a labelled CSV")
    which = e.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="score this one model file alone")
    which.add_argument(
        "--lang", choices=["en", "ru"], help="score what the bot serves: both models, routed"
    )
    e.add_argument("--checkpoint-dir", default="ml/checkpoints", help="with --lang")
    e.add_argument("--fp32", action="store_true", help="skip int8 quantisation of the GRUs")
    e.add_argument("--data", required=True, help="text,label CSV (.csv or .csv.gz)")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    e.set_defaults(func=_eval)
