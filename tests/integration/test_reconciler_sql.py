"""The reconciler on real parts: SQLite or PostgreSQL, the local store, the SQL queue.

Each disagreement is created deliberately (a lost event, a stuck upload, an orphan object,
a missing object), one run repairs all of them with exact counts, and a second run finds
nothing left to do.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.upload_ledger import SqlUploadLedger
from filegate.domain.clock import ManualClock, SystemClock
from filegate.domain.messages import parse_events
from filegate.domain.models import Actor, FileRecord, StateChange, UploadSpec
from filegate.domain.quotas import Usage
from filegate.domain.states import FileState
from filegate.services.reconciler import ReconcilePolicy, Reconciler, ReconcileResult
from filegate.services.registration import object_key
from filegate.services.uploads import UploadRecorder
from tests.support.records import make_record

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
MINUTE = timedelta(minutes=1)
POLICY = ReconcilePolicy(
    lost_event_after=5 * MINUTE, stuck_after=15 * MINUTE, orphan_grace=60 * MINUTE
)
DATA = b"\xff\xd8 not really a jpeg"
OWNER = "user:alice"


@dataclasses.dataclass
class Parts:
    repository: SqlRepository
    queries: SqlLifecycleRepository
    store: LocalObjectStore
    queue: SqlQueue
    clock: ManualClock
    reconciler: Reconciler

    async def write(self, key: str) -> None:
        spec = UploadSpec(len(DATA), "image/jpeg", hashlib.sha256(DATA).hexdigest())
        await self.store.write_upload(key, _once(DATA), spec)

    async def add(self, *states: FileState, stored: bool) -> FileRecord:
        record = await self.repository.add(
            make_record(OWNER, clock=self.clock, declared_size=len(DATA))
        )
        if stored:
            await self.write(record.object_key)
        for state in states:
            moved = await self.repository.transition(
                record.id, record.state, StateChange(state, Actor.WORKER)
            )
            assert moved is not None
            record = moved
        return record

    async def state_of(self, record: FileRecord) -> FileState:
        current = await self.repository.get(record.id)
        assert current is not None
        return current.state


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture(params=SQL_BACKENDS)
async def parts(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Parts]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    clock = ManualClock(SystemClock().now())  # the local store's files carry real times
    repository = SqlRepository(database, clock)
    queries = SqlLifecycleRepository(database)
    signer = UrlSigner({"k1": b"reconciler-test-key-0123456789"}, "k1")
    store = LocalObjectStore(tmp_path / "objects", "http://store.test", signer, clock)
    queue = SqlQueue(database, clock)
    ledger = SqlUploadLedger(database, clock, "events")
    uploads = UploadRecorder(repository, store, ledger, clock, grace=MINUTE)
    reconciler = Reconciler(
        repository,
        queries=queries,
        usage=queries,
        store=store,
        uploads=uploads,
        queue=queue,
        clock=clock,
        policy=POLICY,
        lister=store,
    )
    try:
        yield Parts(repository, queries, store, queue, clock, reconciler)
    finally:
        await database.dispose()


async def test_every_disagreement_is_repaired_once_and_counted(parts: Parts) -> None:
    lost = await parts.add(stored=True)  # bytes arrived, the event was lost
    stuck = await parts.add(FileState.UPLOADED, stored=True)  # event lost after UPLOADED
    missing = await parts.add(FileState.UPLOADED, FileState.READY, stored=False)
    healthy = await parts.add(FileState.UPLOADED, FileState.READY, stored=True)
    orphan = object_key(OWNER, "f" * 32)
    await parts.write(orphan)  # bytes no file owns
    parts.clock.advance(POLICY.orphan_grace + MINUTE)

    result = await parts.reconciler.run()

    assert result == ReconcileResult(
        lost_events_recovered=1,
        stuck_uploads_requeued=1,
        missing_objects=1,
        orphans_deleted=1,
        files_checked=4,
        objects_listed=4,
    )
    assert await parts.state_of(lost) is FileState.UPLOADED
    assert await parts.state_of(stuck) is FileState.UPLOADED
    assert await parts.state_of(missing) is FileState.DELETED
    assert await parts.state_of(healthy) is FileState.READY
    assert not await parts.store.exists(orphan)
    assert await parts.store.exists(healthy.object_key)
    messages = await parts.queue.receive(10, timedelta(seconds=30), timedelta(0))
    queued = sorted(e.key for m in messages for e in parse_events(m.body))
    assert queued == sorted([lost.object_key, stuck.object_key])
    history = await parts.repository.history(missing.id)
    assert (history[-1].reason, history[-1].actor) == ("OBJECT_MISSING", "reconciler")
    assert await parts.queries.usage(OWNER) == Usage(pending=2, files=3, bytes=3 * len(DATA))

    again = await parts.reconciler.run()
    assert (again.lost_events_recovered, again.missing_objects, again.orphans_deleted) == (0, 0, 0)


async def test_uploads_in_progress_are_not_objects(parts: Parts) -> None:
    (parts.store.temp_dir / "upload.part").write_bytes(DATA)
    parts.clock.advance(2 * POLICY.orphan_grace)
    result = await parts.reconciler.run()
    assert (result.objects_listed, result.orphans_deleted) == (0, 0)
    assert (parts.store.temp_dir / "upload.part").exists()
