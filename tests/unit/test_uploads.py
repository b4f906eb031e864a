"""UploadRecorder: the local store's gate (admit, commit) and the client's ``complete``."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryObjectStore, MemoryQueue, MemoryRepository
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.messages import parse_events
from filegate.domain.models import Actor, FileRecord, ObjectCreated, ObjectInfo, StateChange
from filegate.domain.ports import UploadGate
from filegate.domain.states import FileState
from filegate.services.uploads import UploadRecorder
from tests.support.records import UPLOAD_WINDOW, make_record

OWNER = "user:alice"
GRACE = timedelta(minutes=5)
DATA = b"\xff\xd8 some image bytes"


@dataclasses.dataclass
class Harness:
    recorder: UploadRecorder
    repository: MemoryRepository
    queue: MemoryQueue
    store: MemoryObjectStore
    clock: ManualClock

    async def add(self, state: FileState = FileState.REGISTERED, owner: str = OWNER) -> FileRecord:
        record = await self.repository.add(make_record(owner, clock=self.clock))
        if state is not FileState.REGISTERED:
            await self.to(record, state)
        return record

    async def to(self, record: FileRecord, state: FileState) -> None:
        current = await self.repository.get(record.id)
        assert current is not None
        moved = await self.repository.transition(
            record.id, current.state, StateChange(state, Actor.WORKER)
        )
        assert moved is not None

    async def state_of(self, record: FileRecord) -> FileState:
        current = await self.repository.get(record.id)
        assert current is not None
        return current.state

    async def bodies(self) -> list[str]:
        """Every enqueued message body (claims them)."""
        messages = await self.queue.receive(10, timedelta(minutes=1), timedelta(0))
        return [m.body for m in messages]


@pytest.fixture
def h() -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    queue = MemoryQueue(clock=clock)
    store = MemoryObjectStore()
    ledger = SeparateUploadLedger(repository, queue)
    recorder = UploadRecorder(repository, store, ledger, clock, grace=GRACE)
    return Harness(recorder, repository, queue, store, clock)


def _is_an_upload_gate(recorder: UploadRecorder) -> UploadGate:
    return recorder  # the local store's gate: checked by mypy


# -- admit ---------------------------------------------------------------------------------


async def test_admit_lets_a_waiting_file_in(h: Harness) -> None:
    record = await h.add()
    await h.recorder.admit(record.object_key)


async def test_admit_allows_the_grace_period_after_the_deadline(h: Harness) -> None:
    record = await h.add()
    h.clock.advance(UPLOAD_WINDOW + GRACE)
    await h.recorder.admit(record.object_key)


async def test_admit_refuses_an_unknown_key(h: Harness) -> None:
    with pytest.raises(FilegateError) as refused:
        await h.recorder.admit("0123456789abcdef/unknown")
    assert refused.value.code is ErrorCode.FILE_NOT_FOUND


async def test_admit_refuses_past_deadline_and_grace(h: Harness) -> None:
    record = await h.add()
    h.clock.advance(UPLOAD_WINDOW + GRACE + timedelta(seconds=1))

    with pytest.raises(FilegateError) as refused:
        await h.recorder.admit(record.object_key)

    assert refused.value.code is ErrorCode.INVALID_STATE


@pytest.mark.parametrize("state", [s for s in FileState if s is not FileState.REGISTERED], ids=str)
async def test_admit_refuses_a_file_no_longer_registered(h: Harness, state: FileState) -> None:
    record = await h.add(state)
    with pytest.raises(FilegateError) as refused:
        await h.recorder.admit(record.object_key)
    assert refused.value.code is ErrorCode.INVALID_STATE


# -- commit --------------------------------------------------------------------------------


async def test_commit_marks_uploaded_and_enqueues_exactly_one_event(h: Harness) -> None:
    record = await h.add()
    info = h.store.put_bytes(record.object_key, DATA)

    await h.recorder.commit(record.object_key, info)

    assert await h.state_of(record) is FileState.UPLOADED
    [body] = await h.bodies()
    assert parse_events(body) == [ObjectCreated(record.object_key, len(DATA), info.etag)]
    [*_, last] = await h.repository.history(record.id)
    assert (last.from_state, last.to_state, last.actor) == (
        FileState.REGISTERED,
        FileState.UPLOADED,
        Actor.STORE.value,
    )


async def test_a_second_commit_is_refused_and_enqueues_nothing(h: Harness) -> None:
    record = await h.add()
    info = h.store.put_bytes(record.object_key, DATA)
    await h.recorder.commit(record.object_key, info)

    with pytest.raises(FilegateError) as refused:
        await h.recorder.commit(record.object_key, info)

    assert refused.value.code is ErrorCode.INVALID_STATE
    assert len(await h.bodies()) == 1


async def test_commit_past_the_deadline_is_refused(h: Harness) -> None:
    record = await h.add()
    h.clock.advance(UPLOAD_WINDOW + GRACE + timedelta(seconds=1))

    with pytest.raises(FilegateError) as refused:
        await h.recorder.commit(record.object_key, ObjectInfo(record.object_key, 3, "etag"))

    assert refused.value.code is ErrorCode.INVALID_STATE
    assert await h.state_of(record) is FileState.REGISTERED
    assert await h.bodies() == []


async def test_an_admitted_upload_commits_without_reading_its_file_again(h: Harness) -> None:
    record = await h.add()
    reads = 0
    read_by_key = h.repository.get_by_key

    async def counted(object_key: str) -> FileRecord | None:
        nonlocal reads
        reads += 1
        return await read_by_key(object_key)

    h.repository.get_by_key = counted  # type: ignore[method-assign]
    await h.recorder.admit(record.object_key)
    await h.recorder.commit(record.object_key, h.store.put_bytes(record.object_key, DATA))

    assert reads == 1
    assert await h.state_of(record) is FileState.UPLOADED


async def test_a_file_that_left_registered_while_its_bytes_arrived_takes_no_commit(
    h: Harness,
) -> None:
    record = await h.add()
    await h.recorder.admit(record.object_key)
    await h.to(record, FileState.EXPIRED)

    with pytest.raises(FilegateError) as refused:
        await h.recorder.commit(record.object_key, h.store.put_bytes(record.object_key, DATA))

    assert refused.value.code is ErrorCode.INVALID_STATE
    assert await h.state_of(record) is FileState.EXPIRED
    assert await h.bodies() == []


async def test_an_upload_admitted_in_time_but_ending_past_deadline_and_grace_is_refused(
    h: Harness,
) -> None:
    record = await h.add()
    await h.recorder.admit(record.object_key)
    h.clock.advance(UPLOAD_WINDOW + GRACE + timedelta(seconds=1))

    with pytest.raises(FilegateError) as refused:
        await h.recorder.commit(record.object_key, h.store.put_bytes(record.object_key, DATA))

    assert refused.value.code is ErrorCode.INVALID_STATE
    assert await h.bodies() == []


async def test_commit_for_an_unknown_key_is_not_found(h: Harness) -> None:
    with pytest.raises(FilegateError) as refused:
        await h.recorder.commit("abc/def", ObjectInfo("abc/def", 3, "etag"))
    assert refused.value.code is ErrorCode.FILE_NOT_FOUND
    assert await h.bodies() == []


@pytest.mark.parametrize("state", [FileState.EXPIRED, FileState.DELETED], ids=str)
async def test_commit_for_a_file_gone_is_refused(h: Harness, state: FileState) -> None:
    record = await h.add(state)
    with pytest.raises(FilegateError) as refused:
        await h.recorder.commit(record.object_key, ObjectInfo(record.object_key, 3, "etag"))
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert await h.bodies() == []


# -- complete ------------------------------------------------------------------------------


async def test_complete_with_the_object_there_enqueues_its_event(h: Harness) -> None:
    record = await h.add()
    info = h.store.put_bytes(record.object_key, DATA)

    completed = await h.recorder.complete(OWNER, record.id)

    assert completed.state is FileState.UPLOADED
    [body] = await h.bodies()
    assert parse_events(body) == [ObjectCreated(record.object_key, info.size, info.etag)]


async def test_complete_without_an_object_is_upload_incomplete(h: Harness) -> None:
    record = await h.add()

    with pytest.raises(FilegateError) as refused:
        await h.recorder.complete(OWNER, record.id)

    assert refused.value.code is ErrorCode.UPLOAD_INCOMPLETE
    assert await h.state_of(record) is FileState.REGISTERED
    assert await h.bodies() == []


@pytest.mark.parametrize(
    "state", [FileState.UPLOADED, FileState.READY, FileState.REJECTED], ids=str
)
async def test_complete_is_idempotent_once_signalled(h: Harness, state: FileState) -> None:
    record = await h.add(state)
    h.store.put_bytes(record.object_key, DATA)
    before = await h.repository.get(record.id)

    completed = await h.recorder.complete(OWNER, record.id)

    assert completed == before
    assert await h.bodies() == []
    assert len(await h.repository.history(record.id)) == 2


async def test_complete_twice_enqueues_one_event(h: Harness) -> None:
    record = await h.add()
    h.store.put_bytes(record.object_key, DATA)

    first = await h.recorder.complete(OWNER, record.id)
    second = await h.recorder.complete(OWNER, record.id)

    assert first == second
    assert len(await h.bodies()) == 1


@pytest.mark.parametrize("state", [FileState.EXPIRED, FileState.DELETED], ids=str)
async def test_complete_for_an_expired_or_deleted_file_is_invalid(
    h: Harness, state: FileState
) -> None:
    record = await h.add(state)
    h.store.put_bytes(record.object_key, DATA)

    with pytest.raises(FilegateError) as refused:
        await h.recorder.complete(OWNER, record.id)

    assert refused.value.code is ErrorCode.INVALID_STATE
    assert await h.bodies() == []


async def test_complete_for_another_owners_file_is_not_found(h: Harness) -> None:
    record = await h.add(owner="user:bob")
    h.store.put_bytes(record.object_key, DATA)

    with pytest.raises(FilegateError) as refused:
        await h.recorder.complete(OWNER, record.id)

    assert refused.value.code is ErrorCode.FILE_NOT_FOUND
    assert await h.state_of(record) is FileState.REGISTERED
    assert await h.bodies() == []


async def test_complete_losing_a_race_returns_the_current_file(h: Harness) -> None:
    record = await h.add()
    h.store.put_bytes(record.object_key, DATA)

    class RacingLedger:
        """The worker verifies the file between our check and our write."""

        async def record_upload(self, file_id: str, event_body: str) -> FileRecord | None:
            await h.to(record, FileState.READY)
            return None

    recorder = UploadRecorder(h.repository, h.store, RacingLedger(), h.clock, grace=GRACE)
    completed = await recorder.complete(OWNER, record.id)

    assert completed.state is FileState.READY
