"""The SQL tables (SQLAlchemy Core). Migrations in ``filegate/migrations`` create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

# SQLite has no 64-bit autoincrement except through INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("object_key", String(300), nullable=False, unique=True),
    Column("filename", String(255), nullable=False),
    Column("declared_size", BigInteger, nullable=False),
    Column("declared_type", String(100), nullable=False),
    Column("declared_sha256", String(64)),
    Column("detected_type", String(100)),
    Column("sha256", String(64)),
    Column("width", Integer),
    Column("height", Integer),
    Column("image_format", String(20)),
    Column("orientation", Integer),
    Column("color_mode", String(20)),
    Column("frames", Integer),
    Column("state", String(16), nullable=False),
    Column("reason", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("upload_expires_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("metadata", JSON, nullable=False),
    Column("idempotency_key", String(200)),
    Column("last_sequencer", String(64)),
    Column("multipart_upload_id", String(1024)),
    Column("retain_until", UTCDateTime),
    Column("pinned", Boolean, nullable=False, default=False, server_default=false()),
    Column("image_facts", JSON),
    Column("placeholder", String(120)),
    Column("perceptual_hash", BigInteger),
    Column("renditions", JSON),
    Column("print_width_mm", Float),
    Column("print_height_mm", Float),
    Column("trace_parent", String(55)),
    UniqueConstraint("owner", "idempotency_key", name="uq_files_owner_idempotency_key"),
    Index("ix_files_owner_created", "owner", "created_at", "id"),
    Index("ix_files_state_deadline", "state", "upload_expires_at"),
    Index("ix_files_retain_until", "retain_until"),
    Index("ix_files_owner_sha256", "owner", "sha256"),
    Index("ix_files_state_id", "state", "id"),
)

file_transitions = Table(
    "file_transitions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("file_id", String(40), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("reason", String(40)),
    Column("actor", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_file_transitions_file", "file_id", "id"),
)

queue_messages = Table(
    "queue_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("queue", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("visible_at", UTCDateTime, nullable=False),
    Column("receipt", String(40)),
    Column("receive_count", Integer, nullable=False, default=0),
    Column("dead_reason", String(200)),
    Index("ix_queue_messages_queue_visible", "queue", "visible_at"),
    Index("ix_queue_messages_queue_sent", "queue", "sent_at"),
    # Settling a batch finds its rows by receipt; only claimed rows have one (0008).
    Index(
        "ix_queue_messages_receipt",
        "queue",
        "receipt",
        sqlite_where=text("receipt IS NOT NULL"),
        postgresql_where=text("receipt IS NOT NULL"),
    ),
)

# Guest sessions, upload grants and rate-limit windows (migration 0003).

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("end_reason", String(20)),
    Column("claimed_by", String(200)),
    Column("client_hash", String(64)),
    Column("purge_requested_at", UTCDateTime),
    Column("purged_at", UTCDateTime),
    Index("ix_sessions_expiry", "expires_at"),
    Index("ix_sessions_purge", "purged_at", "purge_requested_at"),
)

upload_grants = Table(
    "upload_grants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("uses_total", Integer, nullable=False),
    Column("uses_left", Integer, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("code", String(32)),
    Index("ix_upload_grants_owner", "owner"),
    Index("ux_upload_grants_code", "code", unique=True),
)

grant_files = Table(
    "grant_files",
    metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("file_id", String(40), primary_key=True),
)

rate_windows = Table(
    "rate_windows",
    metadata,
    Column("bucket", String(200), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("hits", Integer, nullable=False),
    Index("ix_rate_windows_start", "window_start"),
)

# Per-owner usage for quotas (migration 0004); see filegate.domain.quotas.

sweep_claims = Table(
    "sweep_claims",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_due_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(200), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
)

owner_usage = Table(
    "owner_usage",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("pending", BigInteger, nullable=False),
    Column("files", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
)

# The outbox (migration 0009): events written in the transactions that cause them; see
# filegate.adapters.sql.events. ``tx`` orders them by visibility on PostgreSQL (the writing
# transaction's id, a column default there); it is 0 on SQLite, whose one writer commits
# in ``seq`` order.
events = Table(
    "events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),
    Column("trace_parent", String(64)),
    Column("tx", BigInteger, nullable=False),
    Column("relayed_at", UTCDateTime),
    Column("relay_lease_until", UTCDateTime),
    Index("ix_events_owner_position", "owner", "tx", "seq"),
    Index("ix_events_position", "tx", "seq"),
    Index("ix_events_occurred", "occurred_at"),
    Index(
        "ix_events_unrelayed",
        "seq",
        sqlite_where=text("relayed_at IS NULL"),
        postgresql_where=text("relayed_at IS NULL"),
    ),
)

# Configured webhook endpoints that answered 410 Gone (migration 0009).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("gone_in_a_row", Integer, nullable=False),
    Column("disabled_at", UTCDateTime),
)
