"""Migration 0008 indexes claimed queue messages by receipt, and the settling query uses it."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, pool, text

from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.migrate import alembic_config, migrate

INDEX = "ix_queue_messages_receipt"


def _indexes(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    names = {index["name"] for index in inspect(engine).get_indexes("queue_messages")}
    engine.dispose()
    return {name for name in names if name}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_0008_adds_the_receipt_index_and_downgrading_drops_it(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    migrate(url)
    assert INDEX in _indexes(url)
    command.downgrade(alembic_config(url), "0007")
    assert INDEX not in _indexes(url)


def test_on_sqlite_deleting_by_receipt_searches_the_index(sqlite_url: str) -> None:
    engine = create_engine(sync_url(sqlite_url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        plan = connection.execute(
            text(
                "EXPLAIN QUERY PLAN DELETE FROM queue_messages"
                " WHERE queue = 'events' AND receipt IN ('a', 'b')"
            )
        ).all()
    engine.dispose()
    assert any(INDEX in str(step) for step in plan), plan
