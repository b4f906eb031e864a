"""Migration 0007 adds the sweep claims table, and takes it away on downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, pool

from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.migrate import alembic_config, migrate


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_0007_adds_sweep_claims_and_downgrading_drops_it(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    migrate(url)
    assert "sweep_claims" in _tables(url)
    command.downgrade(alembic_config(url), "0006")
    assert "sweep_claims" not in _tables(url)
