"""Migration 0003 creates exactly the session, grant and rate-limit tables the code uses."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.migrate import alembic_config, migrate
from filegate.adapters.sql.schema import metadata

TABLES = {"sessions", "upload_grants", "grant_files", "rate_windows"}


def _differences(url: str) -> list[Any]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    return [d for d in differences if any(f"'{table}'" in repr(d) for table in TABLES)]


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_migrated_tables_match_the_schema(request: pytest.FixtureRequest, backend: str) -> None:
    assert _differences(request.getfixturevalue(f"{backend}_url")) == []


def test_downgrading_below_0003_drops_the_tables_and_upgrading_restores_them(
    sqlite_url: str,
) -> None:
    config = alembic_config(sqlite_url)

    command.downgrade(config, "0002")
    assert not TABLES & _tables(sqlite_url)

    migrate(sqlite_url)
    assert _tables(sqlite_url) >= TABLES
    assert _differences(sqlite_url) == []
