"""The lifecycle: the sweep enqueues ``files.delete`` messages; their handler deletes the
files still due (object first, then the row with a RETENTION_EXPIRED history row).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from filegate.adapters.memory import MemoryObjectStore, MemoryQueue, MemoryRepository
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.messages import (
    FILES_DELETE,
    Envelope,
    files_delete_ids,
    parse_work,
)
from filegate.domain.models import Actor, FileRecord, StateChange, TransitionReason
from filegate.domain.states import FileState
from filegate.services.lifecycle import (
    LifecycleSweep,
    LifecycleSweeper,
    RetentionDeletion,
    RetentionEnforcer,
)
from filegate.worker.batch import BatchProcessor, Succeeded
from filegate.worker.retry import RetryPolicy
from filegate.worker.tasks import FilesDeleteTask
from tests.support.records import make_record

HOUR = timedelta(hours=1)
RETRY = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=10))


@dataclasses.dataclass
class Harness:
    repository: MemoryRepository
    store: MemoryObjectStore
    queue: MemoryQueue
    clock: ManualClock
    sweeper: LifecycleSweeper
    enforcer: RetentionEnforcer

    async def add(self, stored: bool = True, **overrides: Any) -> FileRecord:
        record = await self.repository.add(make_record(clock=self.clock, **overrides))
        if stored:
            self.store.put_bytes(record.object_key, b"bytes")
        return record

    async def state_of(self, record: FileRecord) -> FileState:
        current = await self.repository.get(record.id)
        assert current is not None
        return current.state

    async def delete_messages(self) -> list[tuple[str, ...]]:
        messages = await self.queue.receive(10, timedelta(seconds=30), timedelta(0))
        envelopes = [item for m in messages for item in parse_work(m.body)]
        return [files_delete_ids(e) for e in envelopes if isinstance(e, Envelope)]


def harness(batch_size: int = 1000, ids_per_message: int = 100) -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    store = MemoryObjectStore(clock)
    queue = MemoryQueue(clock=clock)
    sweeper = LifecycleSweeper(
        repository, queue, clock, batch_size=batch_size, ids_per_message=ids_per_message
    )
    return Harness(
        repository, store, queue, clock, sweeper, RetentionEnforcer(repository, store, clock)
    )


async def test_the_sweep_enqueues_due_files_only() -> None:
    h = harness()
    due = await h.add(retain_until=h.clock.now() + HOUR)
    await h.add(retain_until=h.clock.now() + 3 * HOUR)
    await h.add(retain_until=h.clock.now() + HOUR, pinned=True)
    await h.add()
    h.clock.advance(2 * HOUR)

    assert await h.sweeper.sweep() == LifecycleSweep(due=1, messages=1)
    assert await h.delete_messages() == [(due.id,)]


async def test_the_sweep_splits_ids_into_messages_and_nothing_due_sends_nothing() -> None:
    h = harness(batch_size=5, ids_per_message=2)
    assert await h.sweeper.sweep() == LifecycleSweep(0, 0)
    for _ in range(7):
        await h.add(retain_until=h.clock.now() - HOUR)

    assert await h.sweeper.sweep() == LifecycleSweep(due=5, messages=3)
    assert sorted(len(ids) for ids in await h.delete_messages()) == [1, 2, 2]


async def test_a_due_file_loses_its_object_then_its_row_with_history() -> None:
    h = harness()
    record = await h.add(retain_until=h.clock.now() - HOUR)

    assert await h.enforcer.delete_due([record.id]) == RetentionDeletion(deleted=1, skipped=0)

    assert await h.store.head(record.object_key) is None
    assert await h.state_of(record) is FileState.DELETED
    last = (await h.repository.history(record.id))[-1]
    assert (last.from_state, last.to_state, last.reason, last.actor) == (
        FileState.REGISTERED,
        FileState.DELETED,
        TransitionReason.RETENTION_EXPIRED.value,
        Actor.LIFECYCLE.value,
    )


async def test_files_no_longer_due_are_skipped_and_keep_their_bytes() -> None:
    h = harness()
    pinned = await h.add(retain_until=h.clock.now() - HOUR, pinned=True)
    kept = await h.add(retain_until=h.clock.now() + HOUR)
    plain = await h.add()

    result = await h.enforcer.delete_due([pinned.id, kept.id, plain.id, "no-such-file"])

    assert result == RetentionDeletion(deleted=0, skipped=4)
    for record in (pinned, kept, plain):
        assert await h.store.head(record.object_key) is not None
        assert await h.state_of(record) is FileState.REGISTERED


async def test_handling_a_message_twice_deletes_once() -> None:
    h = harness()
    record = await h.add(retain_until=h.clock.now() - HOUR)
    await h.enforcer.delete_due([record.id])
    assert await h.enforcer.delete_due([record.id]) == RetentionDeletion(0, 1)
    assert len(await h.repository.history(record.id)) == 2


async def test_a_file_that_changes_state_meanwhile_is_still_deleted() -> None:
    h = harness()
    record = await h.add(retain_until=h.clock.now() - HOUR)
    real_delete = h.store.delete

    async def upload_lands_during_delete(key: str) -> None:
        await real_delete(key)
        if await h.state_of(record) is FileState.REGISTERED:
            h.store.put_bytes(key, b"late bytes")
            await h.repository.transition(
                record.id, FileState.REGISTERED, StateChange(FileState.UPLOADED, Actor.STORE)
            )

    h.store.delete = upload_lands_during_delete  # type: ignore[method-assign]
    assert (await h.enforcer.delete_due([record.id])).deleted == 1
    assert await h.state_of(record) is FileState.DELETED
    assert await h.store.head(record.object_key) is None


async def test_a_store_failure_propagates_for_a_retry() -> None:
    h = harness()
    record = await h.add(retain_until=h.clock.now() - HOUR)

    async def unavailable(key: str) -> None:
        raise BackendUnavailable("store down")

    h.store.delete = unavailable  # type: ignore[method-assign]
    with pytest.raises(BackendUnavailable):
        await h.enforcer.delete_due([record.id])
    assert await h.state_of(record) is FileState.REGISTERED


async def test_the_sweep_and_the_worker_end_to_end_through_the_batch_processor() -> None:
    h = harness()
    record = await h.add(retain_until=h.clock.now() + HOUR)
    h.clock.advance(2 * HOUR)
    await h.sweeper.sweep()
    messages = await h.queue.receive(10, timedelta(seconds=30), timedelta(0))
    processor = BatchProcessor(
        _NoUploads(), RETRY, tasks={FILES_DELETE: FilesDeleteTask(h.enforcer)}
    )

    result = await processor.process(messages)

    assert [type(o) for o in result.outcomes] == [Succeeded]
    assert await h.state_of(record) is FileState.DELETED


class _NoUploads:
    async def handle(self, event: object) -> None:
        raise AssertionError("no upload event expected")
