"""``train-names``, ``eval-names`` and ``sample`` subcommands of ``python -m ml``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ml.common import data_dir
from ml.names.corpora import BUILDERS
from ml.names.evaluate import evaluate_checkpoint, evaluate_corpus_checkpoint
from ml.names.full import FullName, sample_full_names
from ml.names.model import ANY, NameModel
from ml.names.registry import DEFAULT_CHECKPOINT_DIR, StyleNotFound, load_style, suggest_style
from ml.names.sample import GeneratedName, PrefixError, Shape, sample_names
from ml.names.train import TrainConfig, train_names


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train-names", help="train a character-level name model")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", help="plain name list file(s), one a line")
    source.add_argument(
        "--corpus", choices=sorted(BUILDERS), help="conditional corpus built from --data-dir"
    )
    train.add_argument("--data-dir", default=None, help="datasets root (NAMECRAFT_DATA_DIR)")
    train.add_argument("--style", required=True, help="style id, e.g. en, ru")
    train.add_argument("--out", required=True, help="checkpoint path (.pt)")
    defaults = TrainConfig(style="")
    for f in fields(TrainConfig):
        if f.name == "style":
            continue
        default = getattr(defaults, f.name)
        train.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=parse_bool if isinstance(default, bool) else type(default),
            default=default,
        )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=_train)

    ev = subparsers.add_parser(
        "eval-names", help="held-out NLL: makemore split (--data) or a corpus (--corpus)"
    )
    ev.add_argument("--checkpoint", required=True)
    ev_source = ev.add_mutually_exclusive_group(required=True)
    ev_source.add_argument("--data", nargs="+", help="plain list(s), makemore split")
    ev_source.add_argument("--corpus", choices=sorted(BUILDERS), help="conditional corpus")
    ev.add_argument("--data-dir", default=None, help="datasets root (NAMECRAFT_DATA_DIR)")
    ev.add_argument("--samples", type=int, default=1000, help="samples for the novelty share")
    ev.add_argument("--int8", action="store_true", help="score the int8 form the bot serves")
    ev.set_defaults(func=_evaluate)

    sample = subparsers.add_parser("sample", help="sample names from a shipped style")
    sample.add_argument("--style", default="en")
    sample.add_argument("--prefix", default="")
    sample.add_argument("-n", "--count", type=int, default=10)
    sample.add_argument("--temperature", type=float, default=1.0)
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--sex", default="any", help="f, m or any")
    sample.add_argument("--era", default="any", help="decade, e.g. 1920 (en)")
    sample.add_argument("--race", default="any", help="fantasy race, e.g. elf, dwarf")
    sample.add_argument("--full", action="store_true", help="full names (with surnames)")
    sample.add_argument("--min-len", type=int, default=0)
    sample.add_argument("--max-len", type=int, default=0)
    sample.add_argument("--ends-with", default="")
    sample.add_argument(
        "--guidance",
        type=float,
        default=None,
        help="how strongly sex/era/race steer (1.0 = plain conditional; default: the style's)",
    )
    sample.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINT_DIR))
    sample.add_argument(
        "--fp32", action="store_true", help="float32 weights (default: int8, as the bot serves)"
    )
    sample.add_argument(
        "--json", action="store_true", help="print one JSON list of {text, real, parts}"
    )
    sample.set_defaults(func=_sample)


def parse_bool(text: str) -> bool:
    """'true'/'false' (also 1/0, yes/no) for boolean training flags."""
    value = text.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")
    return value in ("1", "true", "yes")


def _train(args: argparse.Namespace) -> int:
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "style"}
    data = BUILDERS[args.corpus](data_dir(args.data_dir)) if args.corpus else args.data
    metrics = train_names(data, args.out, TrainConfig(style=args.style, **values), not args.quiet)
    print(json.dumps({k: v for k, v in metrics.items() if k != "config"}, ensure_ascii=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if args.corpus:
        corpus = BUILDERS[args.corpus](data_dir(args.data_dir))
        result = evaluate_corpus_checkpoint(
            args.checkpoint, corpus, args.samples, quantize=args.int8
        )
    else:
        result = evaluate_checkpoint(args.checkpoint, args.data, args.samples, quantize=args.int8)
    print(json.dumps(result))
    return 0


def _sample(args: argparse.Namespace) -> int:
    try:
        bundle = load_style(args.style, Path(args.checkpoint_dir), quantize=not args.fp32)
        attributes = requested_attributes(bundle, sex=args.sex, era=args.era, race=args.race)
        shape = Shape(args.min_len, args.max_len, args.ends_with)
        kwargs = {
            "seed": args.seed,
            "attributes": attributes,
            "shape": shape,
            "guidance": args.guidance,
        }
        if args.full:
            names: list[FullName | GeneratedName] = list(
                sample_full_names(bundle, args.prefix, args.count, args.temperature, **kwargs)
            )
        else:
            names = list(sample_names(bundle, args.prefix, args.count, args.temperature, **kwargs))
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
        print(json.dumps([as_json(n) for n in names], ensure_ascii=False))
    else:
        for n in names:
            print(f"{n.text}\t{'real' if n.is_real else 'new'}")
    return 0


def as_json(name: FullName | GeneratedName) -> dict[str, object]:
    """``text`` and ``real`` always (``name`` too, as before); full names add their ``parts``."""
    out: dict[str, object] = {"text": name.text, "real": name.is_real, "name": name.text}
    if isinstance(name, FullName):
        out["parts"] = [{"text": p.text, "real": p.is_real} for p in name.parts]
    return out


def requested_attributes(bundle: NameModel, **values: str) -> dict[str, str]:
    """The attributes the style models, from CLI/bot values; others must be "any".

    Raises ValueError naming the values the style offers, so "--era 1920" on the fantasy style
    says what it can do instead of silently ignoring the flag.
    """
    schema = bundle.attributes
    out: dict[str, str] = {}
    for name, value in values.items():
        value = (value or ANY).lower()
        if value == ANY:
            continue
        if name not in schema:
            raise ValueError(f"the {bundle.style!r} style has no {name} control")
        if value not in schema[name]:
            raise ValueError(f"{name} must be one of: {', '.join([ANY, *schema[name]])}")
        out[name] = value
    return out
