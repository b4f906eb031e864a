"""A worker batch is a database batch: on SQLite and PostgreSQL, the real processor, verifier
and SQL repository verify a batch of files with one read and one write transaction, and a
failure or a lost compare-and-set belongs to its own message only."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from filegate.adapters.memory import MemoryObjectStore, ScriptedInspector
from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.messages import encode_object_created
from filegate.domain.models import (
    Actor,
    FileRecord,
    Inspection,
    Message,
    ObjectCreated,
    ObjectInfo,
    RenditionName,
    StateChange,
)
from filegate.domain.renditions import rendition_keys
from filegate.domain.states import FileState
from filegate.services.verification import Verifier
from filegate.worker.batch import BatchProcessor, BatchResult, Retry, Succeeded
from filegate.worker.retry import RetryPolicy
from tests.support.records import make_record

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
RETRY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100))
DATA = b"\xff\xd8\xff pretend this is a jpeg"


class FlakyStore(MemoryObjectStore):
    """The memory store, except that ``head`` of the keys in ``down`` fails."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()

    async def head(self, key: str) -> ObjectInfo | None:
        if key in self.down:
            raise BackendUnavailable(f"store down for {key}")
        return await super().head(key)


@dataclasses.dataclass
class World:
    database: Database
    repository: SqlRepository
    store: FlakyStore
    inspector: ScriptedInspector
    scratch: Path

    def processor(self, inspector: ScriptedInspector | None = None) -> BatchProcessor:
        verifier = Verifier(
            self.repository, self.store, inspector or self.inspector, scratch_dir=self.scratch
        )
        return BatchProcessor(verifier, RETRY, random=lambda: 0.5)

    async def uploaded(self, count: int) -> list[FileRecord]:
        """``count`` UPLOADED files with their bytes stored."""
        records = []
        for _ in range(count):
            record = await self.repository.add(make_record(declared_size=len(DATA)))
            change = StateChange(FileState.UPLOADED, Actor.STORE)
            moved = await self.repository.transition(record.id, FileState.REGISTERED, change)
            assert moved is not None
            self.store.put_bytes(record.object_key, DATA)
            records.append(moved)
        return records

    async def states(self, records: list[FileRecord]) -> list[FileState]:
        found = await self.repository.get_many_by_key([r.object_key for r in records])
        return [found[r.object_key].state for r in records]

    async def stored_renditions(self, record: FileRecord) -> list[str]:
        return [key for key in rendition_keys(record.object_key) if await self.store.head(key)]


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    inspector = ScriptedInspector()
    inspector.renders = {RenditionName.THUMB: b"RIFF thumb WEBP"}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    repository = SqlRepository(database, ManualClock())
    yield World(database, repository, FlakyStore(), inspector, scratch)
    await database.dispose()


def messages(records: list[FileRecord]) -> list[Message]:
    return [
        Message(f"m{i}", f"r{i}", encode_object_created(ObjectCreated(r.object_key, 1, "e")), 1)
        for i, r in enumerate(records)
    ]


def kinds(result: BatchResult) -> list[type]:
    return [type(outcome) for outcome in result.outcomes]


async def test_a_batch_of_ten_is_one_read_and_one_write_transaction(world: World) -> None:
    records = await world.uploaded(10)
    before = world.database.transactions.snapshot()

    result = await world.processor().process(messages(records))

    after = world.database.transactions.snapshot()
    assert {mode: after[mode] - before[mode] for mode in after} == {"read": 1, "write": 1}
    assert kinds(result) == [Succeeded] * 10
    assert await world.states(records) == [FileState.READY] * 10
    for record in records:
        history = await world.repository.history(record.id)
        assert [t.to_state for t in history][-1] is FileState.READY
        assert await world.stored_renditions(record) != []


async def test_a_file_deleted_during_its_batch_loses_alone(world: World) -> None:
    records = await world.uploaded(4)
    doomed = records[2]
    inspector = world.inspector
    repository = world.repository

    class DeletingMeanwhile(ScriptedInspector):
        """Deletes ``doomed`` while the batch is being examined."""

        async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
            change = StateChange(FileState.DELETED, Actor.API)
            await repository.transition(doomed.id, FileState.UPLOADED, change)
            return await inspector.inspect(path, renditions_dir)

    result = await world.processor(DeletingMeanwhile()).process(messages(records))

    assert kinds(result) == [Succeeded] * 4  # a lost race is nothing to retry
    assert await world.states(records) == [
        FileState.READY,
        FileState.READY,
        FileState.DELETED,
        FileState.READY,
    ]
    history = await world.repository.history(doomed.id)
    assert FileState.READY not in [t.to_state for t in history]
    assert await world.stored_renditions(doomed) == []
    assert await world.stored_renditions(records[3]) != []


async def test_an_examination_failure_retries_only_its_message(world: World) -> None:
    records = await world.uploaded(3)
    world.store.down.add(records[1].object_key)

    result = await world.processor().process(messages(records))

    assert kinds(result) == [Succeeded, Retry, Succeeded]
    assert await world.states(records) == [FileState.READY, FileState.UPLOADED, FileState.READY]
