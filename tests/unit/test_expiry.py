"""ExpirySweeper: only overdue REGISTERED files expire; one whose bytes exist is recovered."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryObjectStore, MemoryQueue, MemoryRepository
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.messages import parse_events
from filegate.domain.models import Actor, FileRecord, StateChange, TransitionReason
from filegate.domain.states import FileState
from filegate.services.expiry import ExpirySweeper, SweepResult
from filegate.services.uploads import UploadRecorder
from tests.support.records import UPLOAD_WINDOW, make_record

GRACE = timedelta(minutes=5)
OVERDUE = UPLOAD_WINDOW + GRACE + timedelta(seconds=1)


@dataclasses.dataclass
class Harness:
    sweeper: ExpirySweeper
    repository: MemoryRepository
    store: MemoryObjectStore
    queue: MemoryQueue
    clock: ManualClock

    async def add(self, state: FileState = FileState.REGISTERED) -> FileRecord:
        record = await self.repository.add(make_record(clock=self.clock))
        if state is not FileState.REGISTERED:
            change = StateChange(state, Actor.WORKER)
            moved = await self.repository.transition(record.id, FileState.REGISTERED, change)
            assert moved is not None
        return record

    async def state_of(self, record: FileRecord) -> FileState:
        current = await self.repository.get(record.id)
        assert current is not None
        return current.state


def recorder(
    repository: MemoryRepository, store: MemoryObjectStore, queue: MemoryQueue, clock: ManualClock
) -> UploadRecorder:
    ledger = SeparateUploadLedger(repository, queue)
    return UploadRecorder(repository, store, ledger, clock, grace=GRACE)


def harness(batch_size: int = 500) -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    store = MemoryObjectStore()
    queue = MemoryQueue(clock=clock)
    uploads = recorder(repository, store, queue, clock)
    sweeper = ExpirySweeper(repository, store, uploads, clock, GRACE, batch_size=batch_size)
    return Harness(sweeper, repository, store, queue, clock)


@pytest.fixture
def h() -> Harness:
    return harness()


async def test_an_overdue_registration_expires(h: Harness) -> None:
    record = await h.add()
    h.clock.advance(OVERDUE)

    assert await h.sweeper.sweep() == SweepResult(expired=1, recovered=0)

    expired = await h.repository.get(record.id)
    assert expired is not None
    assert (expired.state, expired.reason) == (
        FileState.EXPIRED,
        TransitionReason.UPLOAD_EXPIRED.value,
    )
    [*_, last] = await h.repository.history(record.id)
    assert (last.from_state, last.actor) == (FileState.REGISTERED, Actor.SWEEPER.value)


@pytest.mark.parametrize("age", [UPLOAD_WINDOW, UPLOAD_WINDOW + GRACE], ids=["deadline", "grace"])
async def test_nothing_expires_within_the_window_and_its_grace(h: Harness, age: timedelta) -> None:
    record = await h.add()
    h.clock.advance(age)

    assert await h.sweeper.sweep() == SweepResult(0, 0)
    assert await h.state_of(record) is FileState.REGISTERED


@pytest.mark.parametrize("state", [s for s in FileState if s is not FileState.REGISTERED], ids=str)
async def test_only_registered_files_expire(h: Harness, state: FileState) -> None:
    record = await h.add(state)
    h.clock.advance(OVERDUE)

    assert await h.sweeper.sweep() == SweepResult(0, 0)
    assert await h.state_of(record) is state


async def test_a_file_whose_object_exists_is_recorded_as_uploaded(h: Harness) -> None:
    record = await h.add()
    info = h.store.put_bytes(record.object_key, b"late bytes")
    h.clock.advance(OVERDUE)

    assert await h.sweeper.sweep() == SweepResult(expired=0, recovered=1)

    assert await h.state_of(record) is FileState.UPLOADED
    [message] = await h.queue.receive(10, timedelta(seconds=30), timedelta(0))
    [event] = parse_events(message.body)
    assert (event.key, event.size, event.etag) == (record.object_key, info.size, info.etag)


async def test_a_sweep_counts_what_it_did(h: Harness) -> None:
    overdue = [await h.add() for _ in range(3)]
    h.store.put_bytes(overdue[0].object_key, b"bytes")
    await h.add(FileState.READY)
    h.clock.advance(OVERDUE)
    recent = await h.add()

    assert await h.sweeper.sweep() == SweepResult(expired=2, recovered=1)
    assert await h.sweeper.sweep() == SweepResult(expired=0, recovered=0)
    assert await h.state_of(recent) is FileState.REGISTERED


async def test_one_sweep_handles_at_most_one_batch() -> None:
    h = harness(batch_size=2)
    for _ in range(5):
        await h.add()
    h.clock.advance(OVERDUE)

    results = [await h.sweeper.sweep() for _ in range(4)]

    assert [r.expired for r in results] == [2, 2, 1, 0]


async def test_a_file_changed_during_the_sweep_is_not_counted(h: Harness) -> None:
    record = await h.add()
    h.clock.advance(OVERDUE)

    class UploadedMeanwhile(MemoryObjectStore):
        async def head(self, key: str) -> None:
            change = StateChange(FileState.UPLOADED, Actor.STORE)
            await h.repository.transition(record.id, FileState.REGISTERED, change)

    store = UploadedMeanwhile()
    uploads = recorder(h.repository, store, h.queue, h.clock)
    sweeper = ExpirySweeper(h.repository, store, uploads, h.clock, GRACE)

    assert await sweeper.sweep() == SweepResult(0, 0)
    assert await h.state_of(record) is FileState.UPLOADED
