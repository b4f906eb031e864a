"""Reconciler on in-memory fakes: each disagreement created on purpose, repaired, counted."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta
from typing import Any

from filegate.adapters.memory import (
    MemoryObjectStore,
    MemoryQueue,
    MemoryRepository,
    RecordingMetrics,
)
from filegate.adapters.memory.multipart import MemoryMultipartUploads
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.messages import parse_events
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import Actor, FileRecord, ObjectCreated, StateChange, UploadSpec
from filegate.domain.states import FileState
from filegate.services.reconciler import ReconcilePolicy, Reconciler, ReconcileResult
from filegate.services.uploads import UploadRecorder
from tests.support.records import make_record

MINUTE = timedelta(minutes=1)
POLICY = ReconcilePolicy(
    lost_event_after=5 * MINUTE,
    stuck_after=15 * MINUTE,
    orphan_grace=60 * MINUTE,
    page_size=2,
)
DATA = b"object bytes"
ETAG = hashlib.sha256(DATA).hexdigest()


@dataclasses.dataclass
class Harness:
    repository: MemoryRepository
    store: MemoryObjectStore
    queue: MemoryQueue
    multipart: MemoryMultipartUploads
    clock: ManualClock
    reconciler: Reconciler

    async def add(self, *states: FileState, stored: bool = True, **overrides: Any) -> FileRecord:
        record = await self.repository.add(make_record(clock=self.clock, **overrides))
        if stored:
            self.store.put_bytes(record.object_key, DATA)
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

    async def queued_events(self) -> list[ObjectCreated]:
        messages = await self.queue.receive(10, timedelta(seconds=30), timedelta(0))
        return [event for m in messages for event in parse_events(m.body)]


def harness(policy: ReconcilePolicy = POLICY, metrics: Metrics = NO_METRICS) -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    store = MemoryObjectStore(clock)
    queue = MemoryQueue(clock=clock)
    multipart = MemoryMultipartUploads(store, clock)
    ledger = SeparateUploadLedger(repository, queue)
    uploads = UploadRecorder(repository, store, ledger, clock, grace=MINUTE)
    reconciler = Reconciler(
        repository,
        queries=repository,
        usage=repository,
        store=store,
        uploads=uploads,
        queue=queue,
        clock=clock,
        policy=policy,
        lister=store,
        multipart=multipart,
        metrics=metrics,
    )
    return Harness(repository, store, queue, multipart, clock, reconciler)


async def test_nothing_to_repair_counts_nothing() -> None:
    h = harness()
    await h.add(FileState.UPLOADED, FileState.READY)
    h.clock.advance(2 * POLICY.orphan_grace)
    result = await h.reconciler.run()
    assert result == ReconcileResult(files_checked=1, objects_listed=1)


async def test_a_lost_event_is_recovered_and_enqueued() -> None:
    h = harness()
    lost = await h.add()  # bytes in the store, but the event never came
    waiting = await h.add(stored=False)
    h.clock.advance(POLICY.lost_event_after + MINUTE)
    fresh = await h.add()  # too recent to tell

    result = await h.reconciler.run()

    assert result.lost_events_recovered == 1
    assert await h.state_of(lost) is FileState.UPLOADED
    assert await h.state_of(waiting) is FileState.REGISTERED
    assert await h.state_of(fresh) is FileState.REGISTERED
    assert [e.key for e in await h.queued_events()] == [lost.object_key]


async def test_a_stuck_upload_is_enqueued_again() -> None:
    h = harness()
    stuck = await h.add(FileState.UPLOADED)
    h.clock.advance(POLICY.stuck_after + MINUTE)
    await h.add(FileState.UPLOADED)  # recent: its event may still be on its way

    result = await h.reconciler.run()

    assert result.stuck_uploads_requeued == 1
    assert await h.queued_events() == [ObjectCreated(stuck.object_key, len(DATA), ETAG)]
    assert await h.state_of(stuck) is FileState.UPLOADED


async def test_a_ready_file_without_its_object_is_marked_deleted() -> None:
    h = harness()
    ready = await h.add(FileState.UPLOADED, FileState.READY)
    await h.store.delete(ready.object_key)

    result = await h.reconciler.run()

    assert result.missing_objects == 1
    assert await h.state_of(ready) is FileState.DELETED
    last = (await h.repository.history(ready.id))[-1]
    assert (last.reason, last.actor) == ("OBJECT_MISSING", "reconciler")


async def test_a_stuck_upload_without_its_object_is_marked_deleted() -> None:
    h = harness()
    stuck = await h.add(FileState.UPLOADED, stored=False)
    h.clock.advance(POLICY.stuck_after + MINUTE)
    result = await h.reconciler.run()
    assert (result.missing_objects, result.stuck_uploads_requeued) == (1, 0)
    assert await h.state_of(stuck) is FileState.DELETED


async def test_orphans_are_deleted_after_the_grace_only() -> None:
    h = harness()
    no_row = "0123456789abcdef/" + "a" * 32
    h.store.put_bytes(no_row, DATA)
    deleted = await h.add(FileState.DELETED)  # a delete that lost its race: bytes remain
    h.clock.advance(POLICY.orphan_grace + MINUTE)
    young = "0123456789abcdef/" + "b" * 32
    h.store.put_bytes(young, DATA)

    result = await h.reconciler.run()

    assert result.orphans_deleted == 2
    assert await h.store.head(no_row) is None
    assert await h.store.head(deleted.object_key) is None
    assert await h.store.head(young) is not None


async def test_keys_filegate_never_makes_are_left_alone() -> None:
    h = harness()
    for key in ("someone-else/report.pdf", "0123456789abcdef/not-a-file-id", "x"):
        h.store.put_bytes(key, DATA)
    h.clock.advance(2 * POLICY.orphan_grace)
    result = await h.reconciler.run()
    assert (result.orphans_deleted, result.objects_listed) == (0, 3)


async def test_stale_multipart_uploads_are_aborted_unless_still_awaited() -> None:
    h = harness()
    spec = UploadSpec(10, "image/jpeg", None)
    awaited = await h.add(stored=False, upload_expires_at=h.clock.now() + 3 * POLICY.orphan_grace)
    gone = await h.add(FileState.EXPIRED, stored=False)
    kept = await h.multipart.start_multipart(awaited.object_key, spec)
    await h.multipart.start_multipart(gone.object_key, spec)
    await h.multipart.start_multipart("0123456789abcdef/" + "c" * 32, spec)
    h.clock.advance(POLICY.orphan_grace + MINUTE)

    result = await h.reconciler.run()

    assert result.multipart_aborted == 2
    assert await h.multipart.stale_multipart_uploads(h.clock.now()) == [kept]


async def test_a_second_run_finds_nothing_left_to_repair() -> None:
    h = harness()
    await h.add()
    ready = await h.add(FileState.UPLOADED, FileState.READY)
    await h.store.delete(ready.object_key)
    h.store.put_bytes("0123456789abcdef/" + "d" * 32, DATA)
    h.clock.advance(POLICY.orphan_grace + MINUTE)
    first = await h.reconciler.run()
    assert (first.lost_events_recovered, first.missing_objects, first.orphans_deleted) == (1, 1, 1)

    second = await h.reconciler.run()
    assert (second.lost_events_recovered, second.missing_objects, second.orphans_deleted) == (
        0,
        0,
        0,
    )


async def test_ready_checks_rotate_through_the_files_when_limited() -> None:
    h = harness(dataclasses.replace(POLICY, ready_checks_per_run=3))
    ready = [await h.add(FileState.UPLOADED, FileState.READY) for _ in range(5)]
    for record in ready:
        await h.store.delete(record.object_key)

    counts = [(await h.reconciler.run()).missing_objects for _ in range(2)]

    assert counts == [3, 2]
    assert {await h.state_of(r) for r in ready} == {FileState.DELETED}


async def test_every_action_is_reported_as_a_metric() -> None:
    metrics = RecordingMetrics()
    h = harness(metrics=metrics)
    ready = await h.add(FileState.UPLOADED, FileState.READY)
    await h.store.delete(ready.object_key)
    await h.reconciler.run()
    await h.reconciler.run()
    assert metrics.reconciled_actions == {
        "lost_events_recovered": 0,
        "stuck_uploads_requeued": 0,
        "missing_objects": 1,
        "orphans_deleted": 0,
        "multipart_aborted": 0,
        "usage_corrected": 0,
        "renditions_missing": 0,
    }
