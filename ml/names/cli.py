"""``train-names``, ``eval-names`` and ``sample`` subcommands of ``python -m ml``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ml.names.evaluate import evaluate_checkpoint
from ml.names.registry import DEFAULT_CHECKPOINT_DIR, StyleNotFound, load_style, suggest_style
from ml.names.sample import PrefixError, sample_names
from ml.names.train import TrainConfig, train_names


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train-names", help="train a character-level name model")
    train.add_argument("--data", nargs="+", required=True, help="name list file(s), one a line")
    train.add_argument("--style", required=True, help="style id, e.g. en, ru")
    train.add_argument("--out", required=True, help="checkpoint path (.pt)")
    defaults = TrainConfig(style="")
    for f in fields(TrainConfig):
        if f.name == "style":
            continue
        train.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
        )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=_train)

    ev = subparsers.add_parser("eval-names", help="test NLL on the makemore split")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--data", nargs="+", required=True)
    ev.add_argument("--samples", type=int, default=1000, help="samples for the novelty share")
    ev.set_defaults(func=_evaluate)

    sample = subparsers.add_parser("sample", help="sample names from a shipped style")
    sample.add_argument("--style", default="en")
    sample.add_argument("--prefix", default="")
    sample.add_argument("-n", "--count", type=int, default=10)
    sample.add_argument("--temperature", type=float, default=1.0)
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINT_DIR))
    sample.add_argument("--json", action="store_true", help="print one JSON line")
    sample.set_defaults(func=_sample)


def _train(args: argparse.Namespace) -> int:
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "style"}
    metrics = train_names(
        args.data, args.out, TrainConfig(style=args.style, **values), not args.quiet
    )
    print(json.dumps({k: v for k, v in metrics.items() if k != "config"}, ensure_ascii=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    print(json.dumps(evaluate_checkpoint(args.checkpoint, args.data, args.samples)))
    return 0


def _sample(args: argparse.Namespace) -> int:
    try:
        bundle = load_style(args.style, Path(args.checkpoint_dir))
        names = sample_names(bundle, args.prefix, args.count, args.temperature, args.seed)
    except StyleNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PrefixError as exc:
        hint = suggest_style(args.prefix, Path(args.checkpoint_dir), exclude=args.style)
        extra = f"; try --style {hint}" if hint else ""
        print(f"error: {exc.reason}{extra}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"name": n.text, "real": n.is_real} for n in names], ensure_ascii=False))
    else:
        for n in names:
            print(f"{n.text}\t{'real' if n.is_real else 'new'}")
    return 0
