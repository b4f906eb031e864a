"""On PostgreSQL a registration is one statement (``registration_postgres``).

What it stores and refuses is the repository contract's, run on both databases; here, how
many statements it takes: one for a new file, one more to read a READY duplicate it found
or the usage it was refused on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
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


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL of every statement any engine runs meanwhile (BEGIN and COMMIT are not)."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

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


async def test_a_new_file_is_one_statement(repository: SqlRepository) -> None:
    record = _record("new")
    with statements() as seen:
        assert await repository.add(record, limits=QuotaLimits(max_files=5), dedupe=True) == record
    assert len(seen) == 1
    assert await repository.get(record.id) == record
    assert [t.to_state for t in await repository.history(record.id)] == [FileState.REGISTERED]


async def test_a_ready_duplicate_is_found_and_read_in_two(repository: SqlRepository) -> None:
    ready = _record("ready", state=FileState.READY, sha256=SHA256)
    await repository.add(ready)
    with statements() as seen:
        found = await repository.add(_record("again"), dedupe=True)
    assert found == ready
    assert len(seen) == 2
    assert await repository.get("again") is None


async def test_a_refusal_reads_the_usage_it_was_refused_on(repository: SqlRepository) -> None:
    limits = QuotaLimits(max_files=1)
    await repository.add(_record("first"), limits=limits)
    with statements() as seen, pytest.raises(QuotaExceeded):
        await repository.add(_record("second"), limits=limits)
    assert len(seen) == 2
    assert await repository.get("second") is None
    assert await repository.history("second") == []
