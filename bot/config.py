"""Configuration from the environment (and an optional ``.env``), read once at start-up.

Kept light on purpose (no torch, no PTB): ``python -m bot run`` without a token must say so
at once instead of loading PyTorch first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

# ml.names.registry.DEFAULT_CHECKPOINT_DIR, spelled out here so this module does not import
# torch (a test checks that the two agree).
DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "ml" / "checkpoints"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/namecraft.db"
CHAT_DATABASE_URL = "sqlite+aiosqlite:///data/chat.db"  # `python -m bot chat` keeps its own
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_RATE_LIMIT = 30.0  # messages per second for the whole bot, as Telegram documents

MISSING_TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot), then "
    "put TELEGRAM_BOT_TOKEN=<token> in the environment or in .env (or try `make chat`, "
    "which needs no token)."
)


class ConfigError(Exception):
    """Configuration that cannot work; the message is meant for the person starting the bot."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)  # never printed: repr hides it
    api_base_url: str = TELEGRAM_BASE_URL
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR
    # the CPU budget of model calls (bot/inference.py); 0 workers = one per core
    inference_workers: int = 0
    torch_threads: int = 1
    inference_queue: int = 64  # model calls admitted at once; one more gets "busy, retry"
    # overall send rate, messages per second (Telegram's documented limit); 0 = no limiter
    bot_rate_limit: float = DEFAULT_RATE_LIMIT


def parse_log_level(raw: str) -> str:
    """``info`` → ``INFO``; anything that is not a logging level is a ConfigError naming them."""
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"LOG_LEVEL={raw.strip()!r} is not a logging level; use one of {', '.join(LOG_LEVELS)}."
        )
    return level


def parse_count(name: str, raw: str, default: int, minimum: int) -> int:
    """A whole number ≥ ``minimum`` from the environment (empty: ``default``), else ConfigError."""
    text = raw.strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name}={text!r} must be a whole number ≥ {minimum}.")
    return value


def parse_rate(name: str, raw: str, default: float) -> float:
    """A number of messages per second ≥ 0 (``0`` turns limiting off; empty: ``default``)."""
    text = raw.strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(
            f"{name}={text!r} must be a number of messages per second ≥ 0 (0 turns it off)."
        )
    return value


def load_settings(
    env_file: str | os.PathLike[str] | None = ".env",
    *,
    require_token: bool = True,
    default_database_url: str = DEFAULT_DATABASE_URL,
    default_log_level: str = "INFO",
) -> Settings:
    """Read settings; the environment wins over ``.env``.

    Raises ConfigError without a token (unless ``require_token`` is False: the terminal chat
    needs none) and on a LOG_LEVEL that is not a logging level.
    """
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if require_token and not token:
        raise ConfigError(MISSING_TOKEN_HELP)
    return Settings(
        token=token,
        api_base_url=os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or TELEGRAM_BASE_URL,
        database_url=os.environ.get("DATABASE_URL", "").strip() or default_database_url,
        log_level=parse_log_level(os.environ.get("LOG_LEVEL", "").strip() or default_log_level),
        checkpoint_dir=Path(
            os.environ.get("NAMECRAFT_CHECKPOINT_DIR", "").strip() or DEFAULT_CHECKPOINT_DIR
        ),
        inference_workers=parse_count(
            "NAMECRAFT_INFERENCE_WORKERS", os.environ.get("NAMECRAFT_INFERENCE_WORKERS", ""), 0, 0
        ),
        torch_threads=parse_count(
            "NAMECRAFT_TORCH_THREADS", os.environ.get("NAMECRAFT_TORCH_THREADS", ""), 1, 1
        ),
        inference_queue=parse_count(
            "NAMECRAFT_INFERENCE_QUEUE", os.environ.get("NAMECRAFT_INFERENCE_QUEUE", ""), 64, 1
        ),
        bot_rate_limit=parse_rate(
            "BOT_RATE_LIMIT", os.environ.get("BOT_RATE_LIMIT", ""), DEFAULT_RATE_LIMIT
        ),
    )
