"""``python -m ml``: the one entry point for training, evaluation and sampling."""

from __future__ import annotations

import argparse
import sys

from ml.names import cli as names_cli
from ml.phrases import cli as phrases_cli
from ml.sentiment import cli as sentiment_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    names_cli.register(subparsers)
    phrases_cli.register(subparsers)
    sentiment_cli.register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
