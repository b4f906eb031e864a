"""``similar``: files near a perceptual hash, among one owner's 10 000 ready files on SQLite.

filegate: ``SqlRepository.similar_ready`` (one query; the Hamming distance of every one of
the owner's hashed READY files computed by the ``filegate_hamming64`` SQL function, then
filtered, ordered and limited by SQLite). Baseline: the stdlib ``sqlite3`` module reading
the same rows' ids, hashes and times through the same index, with the distance, filter
and ordering done in Python: the plain alternative to a SQL function. Both answer the
same files; the figure is the time of one query.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Result, interleave_async
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.file_columns import hash_column
from filegate.adapters.sql.migrate import migrate
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import SystemClock
from filegate.domain.models import FileRecord
from filegate.domain.similarity import hamming_distance
from filegate.domain.states import FileState

OWNER = "user:bench"
MAX_DISTANCE = 10
LIMIT = 100
BASELINE_IS = "stdlib sqlite3 reads the owner's ready hashes; distance and order in Python"
_QUERY = (
    "SELECT id, perceptual_hash, created_at FROM files INDEXED BY ix_files_owner_created"
    " WHERE owner = ? AND state = 'ready' AND perceptual_hash IS NOT NULL"
)


@dataclass(frozen=True)
class Scale:
    files: int
    queries_per_repetition: int
    repetitions: int


FULL = Scale(files=10_000, queries_per_repetition=20, repetitions=7)
QUICK = Scale(files=200, queries_per_repetition=2, repetitions=1)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-similar-") as tmp:
        path = Path(tmp) / "filegate.db"
        migrate(f"sqlite:///{path}")
        return [asyncio.run(_measure(path, scale))]


async def _measure(path: Path, scale: Scale) -> Result:
    database = open_database(f"sqlite:///{path}")
    repository = SqlRepository(database, SystemClock())
    rng = random.Random(9)
    records = [_record(index, rng.getrandbits(64)) for index in range(scale.files)]
    await repository.add_many(records)
    target = records[0].perceptual_hash or 0
    count = scale.queries_per_repetition
    plain = sqlite3.connect(path)

    async def filegate() -> float:
        started = time.perf_counter()
        for _ in range(count):
            await repository.similar_ready(OWNER, target, MAX_DISTANCE, LIMIT)
        return (time.perf_counter() - started) * 1000 / count

    async def baseline() -> float:
        started = time.perf_counter()
        for _ in range(count):
            _python_side(plain, target)
        return (time.perf_counter() - started) * 1000 / count

    try:
        medians = await interleave_async(filegate, baseline, scale.repetitions)
    finally:
        plain.close()
        await database.dispose()
    note = f"{BASELINE_IS}; {scale.files:,} files, max distance {MAX_DISTANCE}"
    return Result.of("similar", "ms/query", medians, note)


def _python_side(connection: sqlite3.Connection, target: int) -> list[str]:
    signed = hash_column(target)
    rows = connection.execute(_QUERY, (OWNER,))
    scored = [
        (hamming_distance(stored, signed), created, file_id) for file_id, stored, created in rows
    ]
    near = [row for row in scored if row[0] <= MAX_DISTANCE]
    near.sort(key=lambda row: (row[1], row[2]), reverse=True)  # newest first, then by id
    near.sort(key=lambda row: row[0])  # stable: nearest first, newest among equals
    return [file_id for _, _, file_id in near[:LIMIT]]


def _record(index: int, perceptual_hash: int) -> FileRecord:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=index)
    file_id = f"{index:032x}"
    return FileRecord(
        id=file_id,
        owner=OWNER,
        object_key=f"bench/{file_id}",
        filename="photo.jpg",
        declared_size=1000,
        declared_type="image/jpeg",
        declared_sha256=None,
        state=FileState.READY,
        created_at=at,
        updated_at=at,
        upload_expires_at=at + timedelta(hours=1),
        perceptual_hash=perceptual_hash,
    )
