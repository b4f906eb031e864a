"""events: the outbox of notifications (webhooks, the event stream); webhook_endpoints

An event row is written in the same transaction as the state change that causes it. On
PostgreSQL ``tx`` defaults to the writing transaction's id (``pg_current_xact_id``), which
lets readers follow events in the order they became visible; SQLite's single writer commits
in ``seq`` order, so ``tx`` is 0 there. ``webhook_endpoints`` keeps which configured
endpoints answered 410 Gone and were disabled.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from filegate.adapters.sql.schema import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNRELAYED = sa.text("relayed_at IS NULL")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    transaction = "pg_current_xact_id()::text::bigint" if postgres else "0"
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("trace_parent", sa.String(64)),
        sa.Column("tx", sa.BigInteger(), nullable=False, server_default=sa.text(transaction)),
        sa.Column("relayed_at", UTCDateTime),
        sa.Column("relay_lease_until", UTCDateTime),
    )
    op.create_index("ix_events_owner_position", "events", ["owner", "tx", "seq"])
    op.create_index("ix_events_occurred", "events", ["occurred_at"])
    op.create_index(
        "ix_events_unrelayed",
        "events",
        ["seq"],
        sqlite_where=_UNRELAYED,
        postgresql_where=_UNRELAYED,
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("gone_in_a_row", sa.Integer(), nullable=False),
        sa.Column("disabled_at", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoints")
    op.drop_table("events")
