"""Migration 0005 adds the grants' short-link codes, and takes them away on downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, pool

from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.migrate import alembic_config, migrate


def _grant_columns_and_indexes(url: str) -> tuple[set[str], dict[str, bool]]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    inspector = inspect(engine)
    columns = {column["name"] for column in inspector.get_columns("upload_grants")}
    indexes = {
        index["name"] or "": bool(index["unique"])
        for index in inspector.get_indexes("upload_grants")
    }
    engine.dispose()
    return columns, indexes


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_0005_adds_a_unique_code_and_downgrading_drops_it(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    migrate(url)
    columns, indexes = _grant_columns_and_indexes(url)
    assert "code" in columns
    assert indexes.get("ux_upload_grants_code") is True

    command.downgrade(alembic_config(url), "0004")
    columns, indexes = _grant_columns_and_indexes(url)
    assert "code" not in columns
    assert "ux_upload_grants_code" not in indexes

    migrate(url)
    assert "code" in _grant_columns_and_indexes(url)[0]
