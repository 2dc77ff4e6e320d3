"""Game rounds remember their forum topic, so a timer's result lands in the same topic.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: plain ALTER TABLE ADD COLUMN, existing rounds keep NULL (no topic).
    op.add_column("game_rounds", sa.Column("message_thread_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place; no batch copy, so the partial index survives.
    op.drop_column("game_rounds", "message_thread_id")
