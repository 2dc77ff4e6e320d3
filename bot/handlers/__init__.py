"""Telegram handlers, one module per feature; ``bot.app.register_handlers`` wires them up."""
