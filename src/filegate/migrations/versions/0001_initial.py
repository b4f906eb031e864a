"""files, file_transitions and queue_messages

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from filegate.adapters.sql.schema import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("object_key", sa.String(300), nullable=False, unique=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("declared_size", sa.BigInteger, nullable=False),
        sa.Column("declared_type", sa.String(100), nullable=False),
        sa.Column("declared_sha256", sa.String(64)),
        sa.Column("detected_type", sa.String(100)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("image_format", sa.String(20)),
        sa.Column("orientation", sa.Integer),
        sa.Column("color_mode", sa.String(20)),
        sa.Column("frames", sa.Integer),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("upload_expires_at", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(200)),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_files_owner_idempotency_key"),
    )
    op.create_index("ix_files_owner_created", "files", ["owner", "created_at", "id"])
    op.create_index("ix_files_state_deadline", "files", ["state", "upload_expires_at"])
    op.create_table(
        "file_transitions",
        sa.Column("id", _big_id, primary_key=True, autoincrement=True),
        sa.Column("file_id", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("actor", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_file_transitions_file", "file_transitions", ["file_id", "id"])
    op.create_table(
        "queue_messages",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("visible_at", UTCDateTime, nullable=False),
        sa.Column("receipt", sa.String(40)),
        sa.Column("receive_count", sa.Integer, nullable=False),
        sa.Column("dead_reason", sa.String(200)),
    )
    op.create_index("ix_queue_messages_queue_visible", "queue_messages", ["queue", "visible_at"])


def downgrade() -> None:
    op.drop_table("queue_messages")
    op.drop_table("file_transitions")
    op.drop_table("files")
