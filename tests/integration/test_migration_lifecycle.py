"""Migration 0004: retention columns, usage table and indexes match the schema; existing
files are counted into ``owner_usage``; downgrading and upgrading again round-trips.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text

from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.migrate import alembic_config, migrate
from filegate.adapters.sql.schema import metadata

NEW_COLUMNS = {"retain_until", "pinned"}
NEW_INDEXES = {"ix_files_retain_until", "ix_files_owner_sha256", "ix_files_state_id"}


def _differences(url: str) -> list[Any]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    names = NEW_COLUMNS | NEW_INDEXES | {"owner_usage"}
    return [d for d in differences if any(f"'{name}'" in repr(d) for name in names)]


def _files_columns_and_tables(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    inspector = inspect(engine)
    columns = {c["name"] for c in inspector.get_columns("files")}
    tables = set(inspector.get_table_names())
    engine.dispose()
    return columns, tables


def _execute(url: str, sql: str, rows: list[dict[str, Any]] | None = None) -> list[Any]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.begin() as connection:
        result = connection.execute(text(sql), rows) if rows else connection.execute(text(sql))
        found = list(result) if result.returns_rows else []
    engine.dispose()
    return found


def _file(file_id: str, owner: str, state: str, size: int) -> dict[str, Any]:
    at = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    return {
        "id": file_id,
        "owner": owner,
        "key": f"k/{file_id}",
        "state": state,
        "size": size,
        "at": at,
    }


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_migrated_schema_matches_the_code(request: pytest.FixtureRequest, backend: str) -> None:
    assert _differences(request.getfixturevalue(f"{backend}_url")) == []


def test_existing_files_are_counted_and_the_downgrade_round_trips(sqlite_url: str) -> None:
    command.downgrade(alembic_config(sqlite_url), "0003")
    columns, tables = _files_columns_and_tables(sqlite_url)
    assert not NEW_COLUMNS & columns
    assert "owner_usage" not in tables
    _execute(
        sqlite_url,
        "INSERT INTO files (id, owner, object_key, filename, declared_size, declared_type,"
        " state, created_at, updated_at, upload_expires_at, version, metadata)"
        " VALUES (:id, :owner, :key, 'a.jpg', :size, 'image/jpeg', :state, :at, :at, :at, 1,"
        " '{}')",
        [
            _file("f1", "user:a", "registered", 10),
            _file("f2", "user:a", "uploaded", 20),
            _file("f3", "user:a", "ready", 40),
            _file("f4", "user:a", "rejected", 80),
            _file("f5", "user:a", "deleted", 160),
            _file("f6", "user:b", "expired", 1),
        ],
    )

    migrate(sqlite_url)

    usage = _execute(sqlite_url, "SELECT owner, pending, files, bytes FROM owner_usage")
    assert sorted(tuple(row) for row in usage) == [("user:a", 2, 3, 70), ("user:b", 0, 0, 0)]
    pins = _execute(sqlite_url, "SELECT DISTINCT pinned, retain_until FROM files")
    assert [tuple(row) for row in pins] == [(0, None)]
    assert _differences(sqlite_url) == []
