"""PostgreSQL enforces what SQLite ignores: 64-bit ids and names of any length.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

SQLite needs nothing here: an INTEGER PRIMARY KEY is already a 64-bit rowid and a VARCHAR(64)
column holds text of any length. PostgreSQL takes both literally:

- ids were ``integer`` (and their sequences ``AS integer``): a button's id of up to 18 digits
  (``fav:<id>:<i>``, ``game:<id>:real``; the handlers' patterns allow that many) failed as a
  query argument out of int32 range instead of finding nothing, and the sequences stop at
  2**31 - 1 rows ever inserted. Now ``bigint`` columns and sequences.
- names were ``varchar(64)``: fantasy names run to 106 characters (a real training name has
  101), so saving one or a game round showing one failed with "value too long". Names and the
  stored query (prefix) are now ``text``.

Downgrading on PostgreSQL shortens longer names to 64 characters and fails (naming the value)
when an id no longer fits an ``integer``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) of every id; the first of each table is its serial primary key
IDS = (
    ("name_generations", "id"),
    ("favorites", "id"),
    ("favorites", "generation_id"),
    ("game_votes", "round_id"),  # before the key it references
    ("game_rounds", "id"),
)
SEQUENCES = ("name_generations_id_seq", "favorites_id_seq", "game_rounds_id_seq")
TEXTS = (
    ("favorites", "name"),
    ("favorites", "prefix"),
    ("name_generations", "prefix"),
    ("game_rounds", "name"),
)


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not is_postgresql():
        return
    for table, column in IDS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS bigint")
    for table, column in TEXTS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(64))


def downgrade() -> None:
    if not is_postgresql():
        return
    for table, column in TEXTS:
        op.alter_column(
            table,
            column,
            type_=sa.String(64),
            existing_type=sa.Text(),
            postgresql_using=f"left({column}, 64)",
        )
    for sequence in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS integer")
    for table, column in reversed(IDS):
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
