"""files: image facts, placeholder, perceptual hash, renditions and a target print size

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Files verified before this revision keep no facts, hash or renditions: all nullable.
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("image_facts", sa.JSON))
        batch.add_column(sa.Column("placeholder", sa.String(120)))
        batch.add_column(sa.Column("perceptual_hash", sa.BigInteger))
        batch.add_column(sa.Column("renditions", sa.JSON))
        batch.add_column(sa.Column("print_width_mm", sa.Float))
        batch.add_column(sa.Column("print_height_mm", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        for name in (
            "print_height_mm",
            "print_width_mm",
            "renditions",
            "perceptual_hash",
            "placeholder",
            "image_facts",
        ):
            batch.drop_column(name)
