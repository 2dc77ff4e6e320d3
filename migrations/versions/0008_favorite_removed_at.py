"""Favourites remember when 🗑 removed them, so every instance sees the same undo window.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

🗑 on a /favorites list used to hide the favourite in the memory of the instance that got the
press, with that instance's timer deleting it 10 s later; a ↩ that reached another instance
(webhook mode behind a load balancer, issue 14) found nothing hidden there and said "too
late", and the timer deleted the name the user had just asked back. Now 🗑 sets
``favorites.removed_at`` (a conditional UPDATE), every read leaves removed rows out, ↩ clears it
while the window is open (the same UPDATE, whichever instance runs it), and each instance's
sweep deletes rows removed longer ago than the window. The partial index holds only removed
rows (a handful, for seconds), so that sweep stays cheap however many favourites there are.

Downgrading deletes the rows that are removed, then drops the column: they were on their way
out (the user pressed 🗑 and, within seconds, they are deleted anyway), and that is what the
bot before this revision would have done with them when its timer fired. Keeping them would
bring names the user removed back into their list under the older bot, which knows nothing of
``removed_at``. The one thing lost is an undo that was still possible in the last seconds
before the downgrade, and an older bot could not honour that undo anyway.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_favorites_removed_at"
REMOVED = sa.text("removed_at IS NOT NULL")


def upgrade() -> None:
    # nullable, no default: a plain ADD COLUMN on both databases, every old row reads "kept"
    op.add_column("favorites", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        INDEX, "favorites", ["removed_at"], sqlite_where=REMOVED, postgresql_where=REMOVED
    )


def downgrade() -> None:
    op.execute("DELETE FROM favorites WHERE removed_at IS NOT NULL")
    op.drop_index(INDEX, table_name="favorites")
    op.drop_column("favorites", "removed_at")
