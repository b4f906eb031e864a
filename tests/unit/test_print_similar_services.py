"""PrintService, FileChanges and SimilarFiles over the memory repository."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryRepository
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import FileRecord, PrintSize
from filegate.domain.retention import RetentionUpdate
from filegate.domain.similarity import SimilarFile, hamming_distance, nearest_first
from filegate.domain.states import FileState
from filegate.services.changes import FileChange, FileChangeRequest, FileChanges, PrintChange
from filegate.services.printing import PrintService
from filegate.services.retention import RetentionService
from filegate.services.similar import SimilarFiles
from tests.support.records import make_record

OWNER = "user:alice"
A4 = PrintSize(210.0, 297.0)
DAY = timedelta(days=1)
HASH = 0xF0E1D2C3B4A59687


@dataclasses.dataclass
class Harness:
    repository: MemoryRepository
    clock: ManualClock
    printing: PrintService
    changes: FileChanges
    similar: SimilarFiles

    async def add(self, owner: str = OWNER, **overrides: object) -> FileRecord:
        return await self.repository.add(make_record(owner, clock=self.clock, **overrides))


@pytest.fixture
def h() -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    printing = PrintService(repository, clock)
    retention = RetentionService(repository, repository, clock, timedelta(days=30))
    changes = FileChanges(retention, printing)
    return Harness(repository, clock, printing, changes, SimilarFiles(repository))


async def code_of(call: Awaitable[object]) -> ErrorCode:
    with pytest.raises(FilegateError) as raised:
        await call
    return raised.value.code


# --- PrintService ----------------------------------------------------------------------


async def test_a_print_size_is_stored_and_cleared(h: Harness) -> None:
    record = await h.add()
    stored = await h.printing.set(OWNER, record.id, A4)
    assert stored.print_size == A4
    assert (await h.printing.set(OWNER, record.id, None)).print_size is None


async def test_an_invalid_size_is_refused_before_anything_is_read(h: Harness) -> None:
    assert await code_of(h.printing.set(OWNER, "unknown", PrintSize(0, 1))) is (
        ErrorCode.VALIDATION_ERROR
    )


async def test_another_owners_file_is_not_found(h: Harness) -> None:
    theirs = await h.add("user:bob")
    assert await code_of(h.printing.set(OWNER, theirs.id, A4)) is ErrorCode.FILE_NOT_FOUND
    assert (await h.repository.get(theirs.id)) == theirs


async def test_a_deleted_or_due_file_is_invalid_state(h: Harness) -> None:
    deleted = await h.add(state=FileState.DELETED)
    due = await h.add(retain_until=h.clock.now() - DAY)
    assert await code_of(h.printing.set(OWNER, deleted.id, A4)) is ErrorCode.INVALID_STATE
    assert await code_of(h.printing.set(OWNER, due.id, A4)) is ErrorCode.INVALID_STATE
    assert (await h.repository.get(due.id)) == due


# --- FileChanges -----------------------------------------------------------------------


async def test_a_change_applies_retention_then_print(h: Harness) -> None:
    record = await h.add()
    change = FileChange(RetentionUpdate(pinned=True), PrintChange(A4))
    changed = await h.changes.apply(OWNER, record.id, change)
    assert (changed.pinned, changed.print_size) == (True, A4)


async def test_a_print_only_change_leaves_retention_alone(h: Harness) -> None:
    record = await h.add(retain_until=h.clock.now() + DAY, pinned=True)
    changed = await h.changes.apply(OWNER, record.id, FileChange(print=PrintChange(A4)))
    assert (changed.retain_until, changed.pinned) == (record.retain_until, True)


async def test_a_refused_retention_writes_no_print(h: Harness) -> None:
    record = await h.add()
    past = RetentionUpdate(retain_until=h.clock.now() - DAY)
    change = FileChange(past, PrintChange(A4))
    assert await code_of(h.changes.apply(OWNER, record.id, change)) is ErrorCode.VALIDATION_ERROR
    assert (await h.repository.get(record.id)) == record


def test_a_change_of_nothing_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="retention or a print change"):
        FileChange()


async def test_a_batch_answers_each_request_in_order(h: Harness) -> None:
    mine = await h.add()
    theirs = await h.add("user:bob")
    requests = [
        FileChangeRequest(mine.id, FileChange(print=PrintChange(A4))),
        FileChangeRequest(theirs.id, FileChange(print=PrintChange(A4))),
        FileChangeRequest(mine.id, FileChange(print=PrintChange(None))),
    ]
    first, second, third = await h.changes.apply_many(OWNER, requests)
    assert isinstance(first, FileRecord) and first.print_size == A4
    assert isinstance(second, FilegateError) and second.code is ErrorCode.FILE_NOT_FOUND
    assert isinstance(third, FileRecord) and third.print_size is None


# --- SimilarFiles ----------------------------------------------------------------------


async def test_similar_files_leave_out_the_file_itself(h: Harness) -> None:
    source = await h.add(state=FileState.READY, perceptual_hash=HASH)
    twin = await h.add(state=FileState.READY, perceptual_hash=HASH)
    found = await h.similar.near(OWNER, source.id, 10, 100)
    assert found == [SimilarFile(twin, 0)]


async def test_similar_to_an_unknown_or_anothers_file_is_not_found(h: Harness) -> None:
    theirs = await h.add("user:bob", state=FileState.READY, perceptual_hash=HASH)
    assert await code_of(h.similar.near(OWNER, theirs.id, 10, 10)) is ErrorCode.FILE_NOT_FOUND
    assert await code_of(h.similar.near(OWNER, "nope", 10, 10)) is ErrorCode.FILE_NOT_FOUND


@pytest.mark.parametrize(
    ("state", "perceptual_hash"),
    [(FileState.READY, None), (FileState.UPLOADED, None), (FileState.DELETED, HASH)],
)
async def test_a_file_not_ready_with_a_hash_is_not_ready(
    h: Harness, state: FileState, perceptual_hash: int | None
) -> None:
    record = await h.add(state=state, perceptual_hash=perceptual_hash)
    assert await code_of(h.similar.near(OWNER, record.id, 10, 10)) is ErrorCode.NOT_READY


@pytest.mark.parametrize(("distance", "limit"), [(-1, 10), (65, 10), (10, 0), (10, 1001)])
async def test_bounds_are_validated(h: Harness, distance: int, limit: int) -> None:
    source = await h.add(state=FileState.READY, perceptual_hash=HASH)
    refused = h.similar.near(OWNER, source.id, distance, limit)
    assert await code_of(refused) is ErrorCode.VALIDATION_ERROR


# --- the distance ------------------------------------------------------------------------


def test_the_distance_counts_differing_bits_of_the_64() -> None:
    assert hamming_distance(HASH, HASH) == 0
    assert hamming_distance(HASH, HASH ^ (1 << 63)) == 1
    assert hamming_distance(0, (1 << 64) - 1) == 64
    signed = HASH - (1 << 64)  # as the BIGINT column holds it
    assert hamming_distance(signed, HASH) == 0
    assert hamming_distance(signed, 0) == HASH.bit_count()


def test_nearest_first_then_newest() -> None:
    old, new = make_record(), make_record()
    new = dataclasses.replace(new, created_at=old.created_at + DAY)
    ordered = nearest_first([SimilarFile(old, 1), SimilarFile(new, 2), SimilarFile(new, 1)])
    assert ordered == [SimilarFile(new, 1), SimilarFile(old, 1), SimilarFile(new, 2)]
