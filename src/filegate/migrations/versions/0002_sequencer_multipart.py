"""files.last_sequencer, files.multipart_upload_id; queue index by send time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("last_sequencer", sa.String(64)))
        batch.add_column(sa.Column("multipart_upload_id", sa.String(1024)))
    op.create_index("ix_queue_messages_queue_sent", "queue_messages", ["queue", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_queue_messages_queue_sent", "queue_messages")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("multipart_upload_id")
        batch.drop_column("last_sequencer")
