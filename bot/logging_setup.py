"""Logging that never shows the bot token.

PTB and httpx put the token in request URLs (``.../bot<token>/getUpdates``); a filter on every
handler replaces it, and httpx's per-request INFO lines are turned down to warnings.
"""

from __future__ import annotations

import logging
import re

# Telegram tokens look like "123456789:AA..."; also hide whatever token we were given.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactTokenFilter(logging.Filter):
    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_PATTERN.sub("<token>", message)
        if self.token:
            redacted = redacted.replace(self.token, "<token>")
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = TOKEN_PATTERN.sub("<token>", record.exc_text)
            if self.token:
                record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def setup_logging(level: str, token: str | None = None) -> None:
    """Configure the root logger once, with token redaction on its handler.

    ``level`` must be a level name (``bot.config.parse_log_level`` checked it): an unknown one
    raises ValueError instead of quietly becoming INFO.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokenFilter(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())  # ValueError: Unknown level
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on every start-up: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
