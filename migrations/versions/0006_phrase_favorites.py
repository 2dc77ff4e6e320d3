"""Phrases next to names: stored answers and favourites say which kind they hold.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

/phrase (issue 13) stores its answers like /name does, so its ⭐ and 🔄 buttons carry ids
only, and a saved phrase goes into the same favourites list. Both tables get ``kind``:
'name' (every existing row, and what the bot did before) or 'phrase'. A phrase keeps its
voice ("homer", "tolstoy") in ``style``, which for a name is the name style: a voice is the
phrase's style, the unique key (user, text, style) then tells the same line saved from two
voices apart, and nothing else about the tables has to change. Phrase texts are long (up to
300 characters): ``favorites.name`` and ``name_generations.names_json`` are ``text`` already
(0005), so they fit on PostgreSQL too.

Downgrading drops the column and keeps every row: a saved phrase stays saved (an older bot
lists it like a name), because a favourite is never lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("name_generations", "favorites")


def upgrade() -> None:
    # A defaulted NOT NULL column: plain ADD COLUMN on both databases, old rows read 'name'.
    for table in TABLES:
        op.add_column(table, sa.Column("kind", sa.String(8), nullable=False, server_default="name"))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_column(table, "kind")
