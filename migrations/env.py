"""Alembic environment (async): runs migrations over the bot's own async engine set-up."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.db.engine import create_engine
from bot.db.models import Base

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata

# Several instances that start together on one PostgreSQL database would otherwise all see the
# same old revision and run the same DDL at once (the losers fail on "already exists"). A
# transaction-level advisory lock makes them take turns: the first upgrades, the others then
# find the database at head and do nothing. (Any constant no other tool uses on the database.)
MIGRATION_LOCK_KEY = 7020378871935624820


def database_url() -> str:
    """The bot passes its URL in the config; the ``alembic`` CLI (alembic.ini) honours
    DATABASE_URL like the bot does, falling back to the ini's default."""
    from_cli = config.config_file_name is not None
    return (from_cli and os.environ.get("DATABASE_URL")) or config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    # render_as_batch lets ALTER TABLE work on SQLite by copying the table.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
