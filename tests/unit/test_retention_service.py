"""RetentionService: owner-scoped changes, validation, due and deleted files, batches."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from filegate.adapters.memory import MemoryRepository
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.retention import Retention, RetentionUpdate
from filegate.domain.states import FileState
from filegate.services.retention import RetentionRequest, RetentionService
from tests.support.records import make_record

OWNER = "user:alice"
MAX_AHEAD = timedelta(days=30)
DAY = timedelta(days=1)


@dataclasses.dataclass
class Harness:
    service: RetentionService
    repository: MemoryRepository
    clock: ManualClock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    async def add(self, owner: str = OWNER, **overrides: object) -> FileRecord:
        return await self.repository.add(make_record(owner, clock=self.clock, **overrides))

    async def code_of(self, file_id: str, update: RetentionUpdate) -> ErrorCode:
        with pytest.raises(FilegateError) as raised:
            await self.service.update(OWNER, file_id, update)
        return raised.value.code


@pytest.fixture
def h() -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    return Harness(RetentionService(repository, repository, clock, MAX_AHEAD), repository, clock)


async def test_a_deadline_is_stored_and_returned(h: Harness) -> None:
    record = await h.add()
    updated = await h.service.update(OWNER, record.id, RetentionUpdate(retain_until=h.now + DAY))
    assert (updated.retain_until, updated.pinned) == (h.now + DAY, False)
    assert await h.repository.get(record.id) == updated


async def test_pinning_keeps_the_deadline_and_unpinning_keeps_it_too(h: Harness) -> None:
    record = await h.add(retain_until=h.now + DAY)
    pinned = await h.service.update(OWNER, record.id, RetentionUpdate(pinned=True))
    assert Retention.of(pinned) == Retention(h.now + DAY, True)
    unpinned = await h.service.update(OWNER, record.id, RetentionUpdate(pinned=False))
    assert Retention.of(unpinned) == Retention(h.now + DAY, False)


async def test_null_clears_the_deadline(h: Harness) -> None:
    record = await h.add(retain_until=h.now + DAY)
    cleared = await h.service.update(OWNER, record.id, RetentionUpdate(retain_until=None))
    assert cleared.retain_until is None


async def test_a_pinned_file_may_be_kept_beyond_the_maximum(h: Harness) -> None:
    record = await h.add()
    far = RetentionUpdate(retain_until=h.now + 100 * MAX_AHEAD, pinned=True)
    assert (await h.service.update(OWNER, record.id, far)).pinned


async def test_bad_deadlines_are_validation_errors(h: Harness) -> None:
    record = await h.add()
    for until in (h.now - DAY, h.now, h.now + MAX_AHEAD + DAY):
        update = RetentionUpdate(retain_until=until)
        assert await h.code_of(record.id, update) is ErrorCode.VALIDATION_ERROR


async def test_unpinning_a_file_whose_deadline_is_too_far_is_refused(h: Harness) -> None:
    record = await h.add(retain_until=h.now + 10 * MAX_AHEAD, pinned=True)
    assert await h.code_of(record.id, RetentionUpdate(pinned=False)) is ErrorCode.VALIDATION_ERROR


async def test_repinning_ignores_a_stale_deadline_it_does_not_set(h: Harness) -> None:
    record = await h.add(retain_until=h.now - DAY, pinned=True)
    assert (await h.service.update(OWNER, record.id, RetentionUpdate(pinned=True))).pinned


async def test_a_due_or_deleted_file_cannot_change(h: Harness) -> None:
    due = await h.add(retain_until=h.now + DAY)
    h.clock.advance(2 * DAY)
    deleted = await h.add()
    await h.repository.transition(
        deleted.id, FileState.REGISTERED, StateChange(FileState.DELETED, Actor.API)
    )
    for file_id in (due.id, deleted.id):
        assert await h.code_of(file_id, RetentionUpdate(pinned=True)) is ErrorCode.INVALID_STATE


async def test_another_owners_file_is_not_found(h: Harness) -> None:
    theirs = await h.add("user:bob")
    update = RetentionUpdate(pinned=True)
    assert await h.code_of(theirs.id, update) is ErrorCode.FILE_NOT_FOUND
    assert await h.code_of("no-such-file", update) is ErrorCode.FILE_NOT_FOUND


async def test_a_change_computed_from_a_stale_version_is_recomputed(h: Harness) -> None:
    record = await h.add()
    repository = h.repository
    real_get_owned = repository.get_owned
    raced = False

    async def racing_get_owned(owner: str, file_id: str) -> FileRecord | None:
        nonlocal raced
        seen = await real_get_owned(owner, file_id)
        if not raced:  # someone pins the file between our read and our write
            raced = True
            assert seen is not None
            now = h.clock.now()
            await repository.set_retention(file_id, seen.version, Retention(None, True), now)
        return seen

    repository.get_owned = racing_get_owned  # type: ignore[method-assign]
    updated = await h.service.update(OWNER, record.id, RetentionUpdate(retain_until=h.now + DAY))
    assert Retention.of(updated) == Retention(h.now + DAY, pinned=True)
    assert updated.version == 3


async def test_a_batch_answers_each_item_in_order(h: Harness) -> None:
    mine = await h.add()
    theirs = await h.add("user:bob")
    results = await h.service.update_many(
        OWNER,
        [
            RetentionRequest(mine.id, RetentionUpdate(pinned=True)),
            RetentionRequest(theirs.id, RetentionUpdate(pinned=True)),
            RetentionRequest(mine.id, RetentionUpdate(retain_until=h.now - DAY)),
        ],
    )
    assert isinstance(results[0], FileRecord) and results[0].pinned
    assert [r.code for r in results[1:] if isinstance(r, FilegateError)] == [
        ErrorCode.FILE_NOT_FOUND,
        ErrorCode.VALIDATION_ERROR,
    ]
