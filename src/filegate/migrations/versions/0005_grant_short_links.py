"""upload_grants.code: the short link (``/g/<code>``) a phone's QR code carries

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Grants issued before this revision keep no code: they still work through their token.
    with op.batch_alter_table("upload_grants") as batch:
        batch.add_column(sa.Column("code", sa.String(32)))
    op.create_index("ux_upload_grants_code", "upload_grants", ["code"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_upload_grants_code", "upload_grants")
    with op.batch_alter_table("upload_grants") as batch:
        batch.drop_column("code")
