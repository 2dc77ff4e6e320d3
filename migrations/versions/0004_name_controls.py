"""Name controls: sex, era and race settings; answers remember their controls and kind.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable or defaulted columns: plain ADD COLUMN, every existing row keeps its values and
    # reads as "any" / "single names", which is what the bot did before.
    op.add_column("user_settings", sa.Column("sex", sa.String(8), nullable=True))
    op.add_column("user_settings", sa.Column("era", sa.String(8), nullable=True))
    op.add_column("user_settings", sa.Column("race", sa.String(16), nullable=True))
    op.add_column(
        "name_generations",
        sa.Column("attributes_json", sa.Text(), nullable=False, server_default="{}"),
    )
    op.add_column(
        "name_generations",
        sa.Column("full", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )


def downgrade() -> None:
    op.drop_column("name_generations", "full")
    op.drop_column("name_generations", "attributes_json")
    op.drop_column("user_settings", "race")
    op.drop_column("user_settings", "era")
    op.drop_column("user_settings", "sex")
