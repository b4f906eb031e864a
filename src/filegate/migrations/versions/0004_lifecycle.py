"""retention (files.retain_until, files.pinned), per-owner usage, dedupe and reconciler indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from filegate.adapters.sql.schema import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Usage as filegate.domain.quotas defines it: pending = REGISTERED/UPLOADED,
# files and bytes = REGISTERED/UPLOADED/READY.
_BACKFILL_USAGE = """
INSERT INTO owner_usage (owner, pending, files, bytes)
SELECT owner,
       SUM(CASE WHEN state IN ('registered', 'uploaded') THEN 1 ELSE 0 END),
       SUM(CASE WHEN state IN ('registered', 'uploaded', 'ready') THEN 1 ELSE 0 END),
       SUM(CASE WHEN state IN ('registered', 'uploaded', 'ready') THEN declared_size ELSE 0 END)
FROM files
GROUP BY owner
"""


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("retain_until", UTCDateTime))
        batch.add_column(sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_files_retain_until", "files", ["retain_until"])
    op.create_index("ix_files_owner_sha256", "files", ["owner", "sha256"])
    op.create_index("ix_files_state_id", "files", ["state", "id"])
    op.create_table(
        "owner_usage",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("pending", sa.BigInteger, nullable=False),
        sa.Column("files", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
    )
    op.execute(_BACKFILL_USAGE)


def downgrade() -> None:
    op.drop_table("owner_usage")
    op.drop_index("ix_files_state_id", "files")
    op.drop_index("ix_files_owner_sha256", "files")
    op.drop_index("ix_files_retain_until", "files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("pinned")
        batch.drop_column("retain_until")
