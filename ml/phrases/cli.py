"""``train-phrases``, ``eval-phrases`` and ``phrase`` subcommands of ``python -m ml``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ml.common import data_dir
from ml.names.cli import parse_bool
from ml.phrases.data import CORPORA, default_path, read_corpus
from ml.phrases.evaluate import evaluate_checkpoint
from ml.phrases.model import DEFAULT_CHECKPOINT_DIR, VoiceNotFound, find_voice, load_phrase_models
from ml.phrases.sample import Phrase, StartError, sample_phrases
from ml.phrases.train import TrainConfig, train_phrases


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train-phrases", help="train a character-level phrase model on a text corpus"
    )
    train.add_argument("--corpus", required=True, choices=sorted(CORPORA))
    train.add_argument("--data", default=None, help="the corpus file (default: under --data-dir)")
    train.add_argument("--data-dir", default=None, help="datasets root (NAMECRAFT_DATA_DIR)")
    train.add_argument("--out", required=True, help="checkpoint path (.pt)")
    train.add_argument(
        "--min-speaker-lines",
        type=int,
        default=50,
        help="simpsons: speakers with at least this many training lines get a voice",
    )
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        default = getattr(defaults, f.name)
        train.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=parse_bool if isinstance(default, bool) else type(default),
            default=default,
        )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    ev = subparsers.add_parser(
        "eval-phrases", help="held-out bits/char of a phrase model and of the 5-gram baseline"
    )
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--data", required=True, help="the corpus file the model was trained on")
    ev.add_argument("--split", default="test", choices=("test", "val"))
    ev.add_argument("--int8", action="store_true", help="score int8 GRU/linear layers")
    ev.set_defaults(func=_evaluate)

    phrase = subparsers.add_parser("phrase", help="write phrases in a voice")
    phrase.add_argument("--voice", required=True, help="e.g. tolstoy, moe, homer, simpsons")
    phrase.add_argument("--start", default="", help="the phrase starts with this text")
    phrase.add_argument("-n", "--count", type=int, default=5)
    phrase.add_argument("--temperature", type=float, default=0.8)
    phrase.add_argument("--seed", type=int, default=None)
    phrase.add_argument("--max-chars", type=int, default=0, help="length cap (0: the model's)")
    phrase.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINT_DIR))
    phrase.add_argument("--int8", action="store_true", help="int8 GRU/linear layers")
    phrase.add_argument(
        "--json", action="store_true", help="print one JSON list of {text, voice, finished}"
    )
    phrase.set_defaults(func=_phrase)


def _train(args: argparse.Namespace) -> int:
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    path = Path(args.data) if args.data else default_path(args.corpus, data_dir(args.data_dir))
    corpus = read_corpus(args.corpus, path, args.min_speaker_lines)
    metrics = train_phrases(corpus, args.out, TrainConfig(**values), not args.quiet)
    print(json.dumps({k: v for k, v in metrics.items() if k != "config"}, ensure_ascii=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    result = evaluate_checkpoint(args.checkpoint, args.data, args.split, quantize=args.int8)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _phrase(args: argparse.Namespace) -> int:
    try:
        models = load_phrase_models(Path(args.checkpoint_dir), quantize=args.int8)
        bundle = find_voice(models, args.voice)
        phrases = sample_phrases(
            bundle,
            args.start,
            args.count,
            args.temperature,
            args.seed,
            voice=args.voice.strip().lower(),
            max_chars=args.max_chars or None,
        )
    except (VoiceNotFound, StartError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([as_json(p) for p in phrases], ensure_ascii=False))
    else:
        for p in phrases:
            print(p.text)
    return 0


def as_json(phrase: Phrase) -> dict[str, object]:
    return {"text": phrase.text, "voice": phrase.voice, "finished": phrase.finished}
