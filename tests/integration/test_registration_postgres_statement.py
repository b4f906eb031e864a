"""On PostgreSQL a registration is one statement (``registration_postgres``).

What it stores and refuses is the repository contract's, run on both databases; here, how
many statements it takes: one for a new file, one more to read a READY duplicate it found
or the usage it was refused on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, make_url

from filegate.adapters.sql import registration_postgres
from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import FileRecord
from filegate.domain.quotas import QuotaExceeded, QuotaLimits
from filegate.domain.states import FileState

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHA256 = "cd" * 32


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    database = open_database(postgres_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def repository(database: Database) -> SqlRepository:
    return SqlRepository(database, ManualClock(NOW))


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL of every statement run meanwhile, through SQLAlchemy's execution or straight
    on a psycopg connection (BEGIN and COMMIT are neither); each still runs."""
    seen: list[str] = []
    execute = psycopg.Connection.execute

    def execute_noted(self: psycopg.Connection[Any], query: Any, *args: Any, **kw: Any) -> Any:
        seen.append(str(query))
        return execute(self, query, *args, **kw)

    def note(*args: Any) -> None:
        seen.append(args[2])

    monkeypatch.setattr(psycopg.Connection, "execute", execute_noted)
    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def _record(name: str, **fields: Any) -> FileRecord:
    values: dict[str, Any] = {
        "id": name,
        "owner": "user:alice",
        "object_key": f"alice/{name}",
        "filename": f"{name}.jpg",
        "declared_size": 1_000,
        "declared_type": "image/jpeg",
        "declared_sha256": SHA256,
        "state": FileState.REGISTERED,
        "created_at": NOW,
        "updated_at": NOW,
        "upload_expires_at": NOW + timedelta(hours=1),
    }
    return FileRecord(**(values | fields))


async def test_a_new_file_is_one_statement(
    repository: SqlRepository, statements: list[str]
) -> None:
    record = _record("new")
    assert await repository.add(record, limits=QuotaLimits(max_files=5), dedupe=True) == record
    assert len(statements) == 1
    assert await repository.get(record.id) == record
    assert [t.to_state for t in await repository.history(record.id)] == [FileState.REGISTERED]


async def test_a_ready_duplicate_is_found_and_read_in_two(
    repository: SqlRepository, statements: list[str]
) -> None:
    ready = _record("ready", state=FileState.READY, sha256=SHA256)
    await repository.add(ready)
    statements.clear()
    found = await repository.add(_record("again"), dedupe=True)
    assert found == ready
    assert len(statements) == 2
    assert await repository.get("again") is None


async def test_a_refusal_reads_the_usage_it_was_refused_on(
    repository: SqlRepository, statements: list[str]
) -> None:
    limits = QuotaLimits(max_files=1)
    await repository.add(_record("first"), limits=limits)
    statements.clear()
    with pytest.raises(QuotaExceeded):
        await repository.add(_record("second"), limits=limits)
    assert len(statements) == 2
    assert await repository.get("second") is None
    assert await repository.history("second") == []


async def test_a_dropped_connection_is_unavailable_once_then_replaced(postgres_url: str) -> None:
    database = open_database(postgres_url, pool_size=1, max_overflow=0)  # one connection
    repository = SqlRepository(database, ManualClock(NOW))
    try:
        await repository.add(_record("before"))
        with psycopg.connect(_libpq(postgres_url), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(BackendUnavailable):
            await repository.add(_record("during"))
        assert await repository.add(_record("after")) == _record("after")
    finally:
        await database.dispose()


async def test_the_duplicate_check_looks_up_the_hash_not_every_file_of_the_owner(
    repository: SqlRepository, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await repository.add_many([_record(f"old-{i}", declared_sha256=None) for i in range(2_000)])
    calls: list[tuple[Any, ...]] = []
    register = registration_postgres.register

    def noted(connection: Any, *args: Any) -> Any:
        calls.append(args)
        return register(connection, *args)

    monkeypatch.setattr(registration_postgres, "register", noted)
    await repository.add(_record("new"), dedupe=True)
    file_row, history_row, counters, shape = calls[0]
    statement = registration_postgres.statement(shape)
    parameters = statement.bound(
        registration_postgres.parameters_of(file_row, history_row, counters)
    )

    with psycopg.connect(_libpq(postgres_url), autocommit=True) as admin:
        admin.execute("ANALYZE files")
        plan = [row[0] for row in admin.execute("EXPLAIN " + statement.sql, parameters)]
    # Walking ix_files_owner_created in order would visit every file of the owner.
    assert not any("ix_files_owner_created" in line for line in plan), plan


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
