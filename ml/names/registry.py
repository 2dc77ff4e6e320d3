"""Which name styles ship, and where their checkpoints live.

Adding a style means training ``names-<id>.pt`` into the checkpoints folder and adding a line
here; the bot and the CLI read this table and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from ml.names.model import NameModel
from ml.names.sample import PrefixError, prepare_prefix

DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


# The shipped styles, in the order menus list them (their titles are the bot's: bot/texts.py).
STYLES: tuple[str, ...] = ("en", "ru", "fantasy")


class StyleNotFound(LookupError):
    """No checkpoint for the asked style."""


def checkpoint_path(style: str, checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> Path:
    return Path(checkpoint_dir) / f"names-{style}.pt"


def load_style(
    style: str, checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR, quantize: bool = False
) -> NameModel:
    path = checkpoint_path(style, checkpoint_dir)
    if style not in STYLES or not path.exists():
        raise StyleNotFound(f"unknown style {style!r}; shipped styles: {', '.join(STYLES)}")
    return NameModel.load(path, quantize=quantize)


def load_all_styles(
    checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR, quantize: bool = False
) -> dict[str, NameModel]:
    """Every shipped style that has a checkpoint on disk, loaded once (the bot: int8)."""
    return {
        style: NameModel.load(checkpoint_path(style, checkpoint_dir), quantize=quantize)
        for style in STYLES
        if checkpoint_path(style, checkpoint_dir).exists()
    }


def style_accepting(prefix: str, models: dict[str, NameModel], exclude: str = "") -> str | None:
    """The first style (other than ``exclude``) that can actually continue the prefix."""
    for style, bundle in models.items():
        if style == exclude:
            continue
        try:
            prepare_prefix(bundle, prefix)
        except PrefixError:
            continue
        return style
    return None


def suggest_style(
    prefix: str, checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR, exclude: str = ""
) -> str | None:
    return style_accepting(prefix, load_all_styles(checkpoint_dir), exclude)
