"""Several instances on one database: job leases, processed updates, review→answer ids.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

Three new tables and one index, none touching an existing row, so any number of instances
(issue 14 §3) share what one process used to keep in memory:

- ``job_runs``: when each periodic job (pruning) last ran and where; an instance runs a job
  only when its upsert moves ``last_run_at`` forward, so it runs once per period in all;
- ``processed_updates``: the (bot, update) pairs taken on, so a redelivered update is ignored;
- ``review_replies``: which bot message answered which review (was per-process chat_data);
- ``ix_game_rounds_open_deadline``: open rounds by deadline, for every instance's sweeper.

Downgrading drops them: the bot before this revision keeps none of it (it forgets nothing a
user could miss: review ids were lost on every restart, and pruning just runs again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
    )
    op.create_table(
        "processed_updates",
        sa.Column("bot_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])
    op.create_table(
        "review_replies",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("review_message_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("answer_message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_replies_created_at", "review_replies", ["created_at"])
    op.create_index(
        "ix_game_rounds_open_deadline",
        "game_rounds",
        ["deadline"],
        sqlite_where=sa.text("revealed_at IS NULL"),
        postgresql_where=sa.text("revealed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_game_rounds_open_deadline", table_name="game_rounds")
    op.drop_index("ix_review_replies_created_at", table_name="review_replies")
    op.drop_table("review_replies")
    op.drop_index("ix_processed_updates_processed_at", table_name="processed_updates")
    op.drop_table("processed_updates")
    op.drop_table("job_runs")
