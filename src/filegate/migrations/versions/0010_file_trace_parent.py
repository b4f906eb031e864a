"""files: the W3C traceparent of each file's registration span (the root of its trace)

Files registered before this revision, or while tracing was off, have none: nullable.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("trace_parent", sa.String(55)))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("trace_parent")
