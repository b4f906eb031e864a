"""events: an index on the log's order of visibility, for the event tail's read of every
owner's new events

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_position", "events", ["tx", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_position", table_name="events")
