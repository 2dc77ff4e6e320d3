"""Configuration from the environment (and an optional ``.env``), read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

from ml.names.registry import DEFAULT_CHECKPOINT_DIR

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/namecraft.db"
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"

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


def load_settings(env_file: str | os.PathLike[str] | None = ".env") -> Settings:
    """Read settings; the environment wins over ``.env``. Raises ConfigError without a token."""
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError(MISSING_TOKEN_HELP)
    return Settings(
        token=token,
        api_base_url=os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or TELEGRAM_BASE_URL,
        database_url=os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        log_level=(os.environ.get("LOG_LEVEL", "").strip() or "INFO").upper(),
        checkpoint_dir=Path(os.environ.get("NAMECRAFT_CHECKPOINT_DIR") or DEFAULT_CHECKPOINT_DIR),
    )
