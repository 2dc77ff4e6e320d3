"""Logging that never shows the bot token (nor the webhook secret).

PTB and httpx put the token in request URLs (``.../bot<token>/getUpdates``); a filter on every
handler replaces it, and httpx's per-request INFO lines are turned down to warnings. PTB's
DEBUG lines show setWebhook's parameters, so WEBHOOK_SECRET is replaced the same way.
"""

from __future__ import annotations

import logging
import re

# Telegram tokens look like "123456789:AA..."; also hide whatever token we were given.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactTokenFilter(logging.Filter):
    def __init__(self, token: str | None = None, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.token = token
        self.secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        text = TOKEN_PATTERN.sub("<token>", text)
        if self.token:
            text = text.replace(self.token, "<token>")
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup_logging(level: str, token: str | None = None, secrets: tuple[str, ...] = ()) -> None:
    """Configure the root logger once, with token redaction on its handler.

    ``level`` must be a level name (``bot.config.parse_log_level`` checked it): an unknown one
    raises ValueError instead of quietly becoming INFO.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokenFilter(token, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())  # ValueError: Unknown level
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on every start-up: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
