"""Configuration from the environment (and an optional ``.env``), read once at start-up.

Kept light on purpose (no torch, no PTB): ``python -m bot run`` without a token must say so
at once instead of loading PyTorch first.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

# ml.names.registry.DEFAULT_CHECKPOINT_DIR, spelled out here so this module does not import
# torch (a test checks that the two agree).
DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "ml" / "checkpoints"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/namecraft.db"
CHAT_DATABASE_URL = "sqlite+aiosqlite:///data/chat.db"  # `python -m bot chat` keeps its own
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_RATE_LIMIT = 30.0  # messages per second for the whole bot, as Telegram documents
BOT_MODES = ("polling", "webhook")
# Behind a reverse proxy on the same machine (README "Deploying"): not reachable from outside
# unless WEBHOOK_LISTEN=0.0.0.0 says so.
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1"
DEFAULT_WEBHOOK_PORT = 8080
DEFAULT_WEBHOOK_MAX_CONNECTIONS = 40  # Telegram's default; it allows 1-100

MISSING_TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot), then "
    "put TELEGRAM_BOT_TOKEN=<token> in the environment or in .env (or try `make chat`, "
    "which needs no token)."
)
MISSING_WEBHOOK_SECRET_HELP = (
    "WEBHOOK_SECRET is not set: webhook mode needs a secret that Telegram sends with every "
    "update (1-256 characters of A-Z, a-z, 0-9, _ and -), e.g. WEBHOOK_SECRET=$(openssl rand "
    "-hex 32)."
)
MISSING_WEBHOOK_URL_HELP = (
    "WEBHOOK_URL is not set: webhook mode needs the public https:// address Telegram posts "
    "updates to, e.g. WEBHOOK_URL=https://bot.example.org/telegram."
)
# What Telegram allows in secret_token (setWebhook)
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


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
    # how updates arrive: long polling (default) or Telegram's webhook (bot/webhook.py)
    mode: str = "polling"
    webhook_url: str = ""
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    webhook_secret: str = field(default="", repr=False)  # never printed, like the token
    webhook_max_connections: int = DEFAULT_WEBHOOK_MAX_CONNECTIONS
    # /metrics on its own port in polling mode (0: off); the webhook server always has it
    metrics_port: int = 0

    @property
    def webhook_path(self) -> str:
        """Where the webhook server takes updates: WEBHOOK_URL's path (``/telegram`` if none)."""
        return urlsplit(self.webhook_url).path.rstrip("/") or "/telegram"


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


def parse_mode(raw: str) -> str:
    """``polling`` or ``webhook`` (any case); anything else is a ConfigError naming both."""
    mode = raw.strip().lower() or "polling"
    if mode not in BOT_MODES:
        raise ConfigError(f"BOT_MODE={raw.strip()!r} is not a mode; use polling or webhook.")
    return mode


def parse_port(name: str, raw: str, default: int, *, allow_off: bool = False) -> int:
    """A TCP port 1-65535 (``0`` too when ``allow_off``: the feature is off)."""
    text = raw.strip()
    if not text:
        return default
    lowest = 0 if allow_off else 1
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not lowest <= value <= 65535:
        off = " (0 turns it off)" if allow_off else ""
        raise ConfigError(f"{name}={text!r} must be a port number {lowest}-65535{off}.")
    return value


def webhook_port() -> int:
    """WEBHOOK_PORT, else PORT (what a Procfile platform gives), else 8080."""
    for name in ("WEBHOOK_PORT", "PORT"):
        raw = os.environ.get(name, "").strip()
        if raw:
            return parse_port(name, raw, DEFAULT_WEBHOOK_PORT)
    return DEFAULT_WEBHOOK_PORT


def check_webhook(settings: Settings) -> None:
    """Webhook mode cannot start without a URL for Telegram and a secret to check it by."""
    if not settings.webhook_url:
        raise ConfigError(MISSING_WEBHOOK_URL_HELP)
    if urlsplit(settings.webhook_url).scheme not in ("https", "http"):
        raise ConfigError(
            f"WEBHOOK_URL={settings.webhook_url!r} must be an https:// address "
            "(Telegram posts only to https; http is for local tests)."
        )
    if not settings.webhook_secret:
        raise ConfigError(MISSING_WEBHOOK_SECRET_HELP)
    if not WEBHOOK_SECRET_PATTERN.fullmatch(settings.webhook_secret):
        raise ConfigError(
            "WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256 characters), as "
            "Telegram requires."
        )
    if not 1 <= settings.webhook_max_connections <= 100:
        raise ConfigError(
            f"WEBHOOK_MAX_CONNECTIONS={settings.webhook_max_connections} must be 1-100 "
            "(Telegram's limits)."
        )


def load_settings(
    env_file: str | os.PathLike[str] | None = ".env",
    *,
    require_token: bool = True,
    default_database_url: str = DEFAULT_DATABASE_URL,
    default_log_level: str = "INFO",
    mode: str | None = None,
) -> Settings:
    """Read settings; the environment wins over ``.env``.

    Raises ConfigError without a token (unless ``require_token`` is False: the terminal chat
    needs none) and on a LOG_LEVEL that is not a logging level. ``mode`` (``python -m bot
    webhook``) wins over BOT_MODE; webhook mode also needs WEBHOOK_URL and WEBHOOK_SECRET.
    """
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if require_token and not token:
        raise ConfigError(MISSING_TOKEN_HELP)
    settings = Settings(
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
        mode=parse_mode(mode or os.environ.get("BOT_MODE", "")),
        webhook_url=os.environ.get("WEBHOOK_URL", "").strip(),
        webhook_listen=os.environ.get("WEBHOOK_LISTEN", "").strip() or DEFAULT_WEBHOOK_LISTEN,
        webhook_port=webhook_port(),
        webhook_secret=os.environ.get("WEBHOOK_SECRET", "").strip(),
        webhook_max_connections=parse_count(
            "WEBHOOK_MAX_CONNECTIONS",
            os.environ.get("WEBHOOK_MAX_CONNECTIONS", ""),
            DEFAULT_WEBHOOK_MAX_CONNECTIONS,
            1,
        ),
        metrics_port=parse_port(
            "METRICS_PORT", os.environ.get("METRICS_PORT", ""), 0, allow_off=True
        ),
    )
    if settings.mode == "webhook" and require_token:
        check_webhook(settings)
    return settings
