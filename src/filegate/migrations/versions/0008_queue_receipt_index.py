"""queue_messages: an index on the receipt, so that settling a batch finds its rows directly

Deleting or releasing claimed messages filters by receipt; without an index every
settlement scanned the queue's whole table (a queue with a backlog of thousands of messages
settled several times slower). Only claimed rows carry a receipt, so the index is partial.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIMED = sa.text("receipt IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_queue_messages_receipt",
        "queue_messages",
        ["queue", "receipt"],
        sqlite_where=_CLAIMED,
        postgresql_where=_CLAIMED,
    )


def downgrade() -> None:
    op.drop_index("ix_queue_messages_receipt", table_name="queue_messages")
