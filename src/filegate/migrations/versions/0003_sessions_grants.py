"""guest sessions, upload grants (second device), files registered per grant, rate-limit windows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from filegate.adapters.sql.schema import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("end_reason", sa.String(20)),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("client_hash", sa.String(64)),
        sa.Column("purge_requested_at", UTCDateTime),
        sa.Column("purged_at", UTCDateTime),
    )
    op.create_index("ix_sessions_expiry", "sessions", ["expires_at"])
    op.create_index("ix_sessions_purge", "sessions", ["purged_at", "purge_requested_at"])
    op.create_table(
        "upload_grants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("uses_total", sa.Integer, nullable=False),
        sa.Column("uses_left", sa.Integer, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_index("ix_upload_grants_owner", "upload_grants", ["owner"])
    op.create_table(
        "grant_files",
        sa.Column("grant_id", sa.String(64), primary_key=True),
        sa.Column("file_id", sa.String(40), primary_key=True),
    )
    op.create_table(
        "rate_windows",
        sa.Column("bucket", sa.String(200), primary_key=True),
        sa.Column("window_start", UTCDateTime, primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
    )
    op.create_index("ix_rate_windows_start", "rate_windows", ["window_start"])


def downgrade() -> None:
    op.drop_table("rate_windows")
    op.drop_table("grant_files")
    op.drop_table("upload_grants")
    op.drop_table("sessions")
