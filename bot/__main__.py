"""``python -m bot run`` (long polling) and ``python -m bot chat`` (local terminal chat)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling (needs TELEGRAM_BOT_TOKEN)")
    chat = sub.add_parser("chat", help="talk to the bot in this terminal; no token, no network")
    chat.add_argument("--language", default="en", help="your Telegram language_code (en, ru)")
    chat.add_argument(
        "--database-url", default=None, help="defaults to DATABASE_URL or data/chat.db"
    )
    args = parser.parse_args(argv)

    if args.command == "run":
        try:
            settings = load_settings()
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 2
        setup_logging(settings.log_level, settings.token)
        from bot.app import run_polling

        run_polling(settings)
        return 0

    setup_logging(os.environ.get("LOG_LEVEL", "WARNING"))
    from bot.app import build_application, load_models
    from bot.chat import run_terminal_chat

    database_url = args.database_url or os.environ.get(
        "DATABASE_URL", "sqlite+aiosqlite:///data/chat.db"
    )
    base = Settings(token="", database_url=database_url)
    models = load_models(base.checkpoint_dir)

    def factory(token: str, base_url: str):  # type: ignore[no-untyped-def]
        settings = Settings(token=token, api_base_url=base_url, database_url=database_url)
        return build_application(settings, models)

    asyncio.run(run_terminal_chat(factory, language_code=args.language))
    return 0


if __name__ == "__main__":
    sys.exit(main())
