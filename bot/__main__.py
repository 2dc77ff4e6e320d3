"""``python -m bot run`` (long polling, or BOT_MODE=webhook), ``python -m bot webhook``
(Telegram's webhook, bot/webhook.py) and ``python -m bot chat`` (local terminal chat)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace

from bot.config import CHAT_DATABASE_URL, ConfigError, load_settings
from bot.logging_setup import setup_logging
from bot.memory import freeze_startup_objects, limit_malloc_arenas, release_freed_memory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run", help="run the bot (long polling unless BOT_MODE=webhook; needs TELEGRAM_BOT_TOKEN)"
    )
    sub.add_parser(
        "webhook",
        help="serve Telegram's webhook (BOT_MODE=webhook; needs WEBHOOK_URL and WEBHOOK_SECRET)",
    )
    chat = sub.add_parser("chat", help="talk to the bot in this terminal; no token, no network")
    chat.add_argument("--language", default="en", help="your Telegram language_code (en, ru)")
    chat.add_argument(
        "--database-url", default=None, help="defaults to DATABASE_URL (or .env) or data/chat.db"
    )
    args = parser.parse_args(argv)

    # Both commands read the same settings (environment, then .env); only run needs a token.
    try:
        if args.command == "run":
            settings = load_settings()
        elif args.command == "webhook":
            settings = load_settings(mode="webhook")
        else:
            settings = load_settings(
                require_token=False,
                default_database_url=CHAT_DATABASE_URL,
                default_log_level="WARNING",
            )
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.token or None, (settings.webhook_secret,))

    # Heavy imports (torch, PTB) only once the configuration is known to be usable.
    limit_malloc_arenas()  # before torch and the bot start their threads (bot/memory.py)
    from bot.app import load_models

    try:
        models = load_models(settings.checkpoint_dir)
    except FileNotFoundError as error:
        print(f"Cannot load the models from {settings.checkpoint_dir}: {error}", file=sys.stderr)
        return 2
    release_freed_memory()  # the loading's temporary copies
    if not models.names:
        print(
            f"No name models (names-en.pt, names-ru.pt, names-fantasy.pt) in "
            f"{settings.checkpoint_dir}: check NAMECRAFT_CHECKPOINT_DIR.",
            file=sys.stderr,
        )
        return 2

    if args.command in ("run", "webhook"):
        from bot.runner import run_bot

        freeze_startup_objects()  # everything imported and loaded stays (bot/memory.py)
        return run_bot(settings, models)

    from bot.app import build_application
    from bot.chat import run_terminal_chat

    database_url = args.database_url or settings.database_url

    def factory(token: str, base_url: str):  # type: ignore[no-untyped-def]
        # every other setting as configured; only the fake server and the database differ
        chat_settings = replace(
            settings, token=token, api_base_url=base_url, database_url=database_url
        )
        return build_application(chat_settings, models)

    asyncio.run(run_terminal_chat(factory, language_code=args.language))
    return 0


if __name__ == "__main__":
    sys.exit(main())
