"""On SQLite, a registration's plain-SQL statements write the rows SQLAlchemy writes.

Each scenario registers the same files through two repositories on one database: one on
SQLAlchemy's execution (``plain_sql=False``, the reference) and one on the plain-SQL path
of :mod:`filegate.adapters.sql.registration_sqlite` (SQLite's default). The owners differ
(``core`` and ``fast``); everything else must be stored in the same text, row for row, in
``files``, ``file_transitions`` and ``owner_usage``, and read back as the same records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection

from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.models import (
    Actor,
    FileRecord,
    ImageInfo,
    PrintSize,
    Rendition,
    RenditionName,
    StateChange,
)
from filegate.domain.quotas import QuotaExceeded, QuotaLimits
from filegate.domain.states import FileState

OWNERS = ("core", "fast")
# Not UTC, with and without microseconds: stored must be the UTC instant, in SQLAlchemy's text.
CREATED = datetime(2026, 3, 1, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
ON_THE_SECOND = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHA256 = "ab" * 32
IMAGE = ImageInfo(
    format="JPEG",
    width=4000,
    height=3000,
    orientation=6,
    mode="RGB",
    bit_depth=8,
    icc_embedded=True,
    icc_description="sRGB ünï",
    dpi=(300.0, 300.0),
    captured_at="2026-02-28T10:00:00+01:00",
)
THUMB = Rendition(RenditionName.THUMB, "image/webp", 512, 384, 20_000)


@pytest.fixture
async def database(sqlite_url: str) -> AsyncIterator[Database]:
    database = open_database(sqlite_url)
    try:
        yield database
    finally:
        await database.dispose()


def _repositories(database: Database) -> dict[str, SqlRepository]:
    clock = ManualClock(ON_THE_SECOND)  # the transitions' times too are the same
    return {
        "core": SqlRepository(database, clock, plain_sql=False),
        "fast": SqlRepository(database, clock),
    }


def _record(owner: str, name: str, **fields: Any) -> FileRecord:
    values: dict[str, Any] = {
        "id": f"{owner}-{name}",
        "owner": owner,
        "object_key": f"{owner}/{name}",
        "filename": f"{name} ünï.jpg",
        "declared_size": 2_483_117,
        "declared_type": "image/jpeg",
        "declared_sha256": None,
        "state": FileState.REGISTERED,
        "created_at": CREATED,
        "updated_at": CREATED,
        "upload_expires_at": ON_THE_SECOND,
    }
    return FileRecord(**(values | fields))


def _variety(owner: str) -> list[FileRecord]:
    """Records that set every kind of column: JSON (nested, empty, null), floats, booleans,
    big integers, nullable times, strings beyond ASCII."""
    return [
        _record(owner, "plain"),
        _record(
            owner,
            "rich",
            declared_sha256=SHA256,
            metadata={"album": "Été", "tags": ["a", 1, 2.5, None, True], "deep": {"x": {}}},
            print_size=PrintSize(150.0, 100.5),
            trace_parent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            retain_until=ON_THE_SECOND,
            pinned=True,
        ),
        _record(
            owner,
            "verified",
            state=FileState.READY,
            sha256=SHA256,
            detected_type="image/jpeg",
            image=IMAGE,
            placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            perceptual_hash=(1 << 64) - 3,  # signed in the database
            renditions=(THUMB,),
            last_sequencer="0055AED6DCD90281E5",
        ),
    ]


async def _stored(database: Database, table: str, key: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each owner's rows of ``table`` as SQLite stores them, the owner's name taken out
    of every text column (``key`` orders them)."""

    def work(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
        result = connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {key}")
        rows = [tuple(row) for row in result]
        return {
            owner: [_without(row, owner) for row in rows if _mentions(row, owner)]
            for owner in OWNERS
        }

    return await database.read(work)


def _mentions(row: tuple[Any, ...], owner: str) -> bool:
    return any(isinstance(value, str) and value.startswith(owner) for value in row)


def _without(row: tuple[Any, ...], owner: str) -> tuple[Any, ...]:
    return tuple(v.replace(owner, "OWNER") if isinstance(v, str) else v for v in row)


async def _same_rows_stored(database: Database) -> None:
    files = await _stored(database, "files", "id")
    assert files["fast"] == files["core"]
    assert files["fast"]
    usage = await _stored(database, "owner_usage", "owner")
    assert usage["fast"] == usage["core"]
    history = await _stored(database, "file_transitions", "file_id, id")
    ids_dropped = {owner: [row[1:] for row in rows] for owner, rows in history.items()}
    assert ids_dropped["fast"] == ids_dropped["core"]


async def test_registrations_store_what_sqlalchemy_stores(database: Database) -> None:
    repositories = _repositories(database)
    for owner, repository in repositories.items():
        records = _variety(owner)
        await repository.add(records[0], "retry-key ü")
        for record in records[1:]:
            await repository.add(record, dedupe=True)
        await repository.add_many([_record(owner, f"batch-{n}") for n in range(3)])
    await _same_rows_stored(database)


async def test_what_the_fast_path_wrote_reads_back_as_it_was_given(database: Database) -> None:
    repository = _repositories(database)["fast"]
    for record in _variety("fast"):
        await repository.add(record)
        assert await repository.get(record.id) == record


async def test_a_duplicate_is_found_and_read_as_sqlalchemy_reads_it(database: Database) -> None:
    repositories = _repositories(database)
    for owner, repository in repositories.items():
        older = _record(owner, "older", declared_sha256=SHA256)
        newer = _record(owner, "newer", declared_sha256=SHA256, created_at=CREATED + timedelta(1))
        for record in (newer, older):  # the older registered last: the order is by time
            await repository.add(record)
        change = StateChange(FileState.READY, Actor.WORKER, sha256=SHA256, image=IMAGE)
        for record in (newer, older):
            await repository.transition(record.id, FileState.REGISTERED, change)
    found = {}
    for owner, repository in repositories.items():
        found[owner] = await repository.add(
            _record(owner, "again", declared_sha256=SHA256), dedupe=True
        )
        assert found[owner].id == f"{owner}-older"
        assert found[owner] == await repository.get(f"{owner}-older")
        again = [_record(owner, "batched", declared_sha256=SHA256), _record(owner, "fresh")]
        duplicate, fresh = await repository.add_many(again, dedupe=True)
        assert duplicate == found[owner]  # the batch's check picks the same, oldest file
        assert fresh == again[1]
    await _same_rows_stored(database)


async def test_quota_refusals_and_admissions_are_counted_alike(database: Database) -> None:
    limits = QuotaLimits(max_pending=2, max_files=3, max_bytes=10_000_000)
    for owner, repository in _repositories(database).items():
        for n in range(2):
            await repository.add(_record(owner, f"quota-{n}"), limits=limits)
        with pytest.raises(QuotaExceeded):
            await repository.add(_record(owner, "quota-refused"), limits=limits)
    await _same_rows_stored(database)
