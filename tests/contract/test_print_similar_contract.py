"""The ``FileRepository`` contract for print sizes and similar files, on every adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from filegate.adapters.memory import MemoryRepository
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.models import Actor, FileRecord, PrintSize, StateChange
from filegate.domain.ports import FileRepository
from filegate.domain.similarity import SimilarFile
from filegate.domain.states import FileState
from tests.support.records import make_record

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
BASE = 0xF0E1D2C3B4A59687
"""Top bit set: the signed BIGINT column holds it as a negative number."""
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
A4 = PrintSize(210.0, 297.0)


def flipped(value: int, *bits: int) -> int:
    """``value`` with the given bit positions (0 = lowest, 63 = sign bit) inverted."""
    for bit in bits:
        value ^= 1 << bit
    return value


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=BACKENDS)
async def repository(
    request: pytest.FixtureRequest, clock: ManualClock
) -> AsyncIterator[FileRepository]:
    if request.param == "memory":
        yield MemoryRepository(clock)
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield SqlRepository(database, clock)
    finally:
        await database.dispose()


async def ready(
    repository: FileRepository,
    perceptual_hash: int | None,
    minutes: int = 0,
    owner: str = "user:alice",
    **overrides: Any,
) -> FileRecord:
    record = make_record(
        owner,
        state=overrides.pop("state", FileState.READY),
        perceptual_hash=perceptual_hash,
        created_at=T0 + timedelta(minutes=minutes),
        **overrides,
    )
    return await repository.add(record)


def ids(found: list[SimilarFile]) -> list[tuple[str, int]]:
    return [(f.record.id, f.distance) for f in found]


# --- set_print_size --------------------------------------------------------------------


async def test_set_print_size_stores_it_and_bumps_version_and_time(
    repository: FileRepository, clock: ManualClock
) -> None:
    record = await repository.add(make_record(clock=clock))
    clock.advance(timedelta(seconds=5))

    updated = await repository.set_print_size(record.id, A4)

    assert updated is not None
    assert (updated.print_size, updated.version, updated.updated_at) == (
        A4,
        record.version + 1,
        clock.now(),
    )
    assert await repository.get(record.id) == updated


async def test_set_print_size_keeps_fractions_of_a_millimetre(repository: FileRepository) -> None:
    record = await repository.add(make_record())
    await repository.set_print_size(record.id, PrintSize(88.9, 127.25))
    stored = await repository.get(record.id)
    assert stored is not None and stored.print_size == PrintSize(88.9, 127.25)


async def test_set_print_size_none_clears_it(repository: FileRepository) -> None:
    record = await repository.add(make_record(print_size=A4))
    cleared = await repository.set_print_size(record.id, None)
    assert cleared is not None and cleared.print_size is None
    stored = await repository.get(record.id)
    assert stored is not None and stored.print_size is None


async def test_set_print_size_writes_no_history_and_keeps_everything_else(
    repository: FileRepository,
) -> None:
    record = await ready(repository, BASE, image=None, metadata={"album": "x"})
    updated = await repository.set_print_size(record.id, A4)
    assert updated is not None
    assert updated.state is FileState.READY
    assert (updated.perceptual_hash, updated.metadata) == (BASE, {"album": "x"})
    assert len(await repository.history(record.id)) == 1


async def test_set_print_size_of_a_deleted_or_missing_file_writes_nothing(
    repository: FileRepository,
) -> None:
    record = await repository.add(make_record())
    change = StateChange(FileState.DELETED, Actor.API)
    deleted = await repository.transition(record.id, FileState.REGISTERED, change)
    assert deleted is not None

    assert await repository.set_print_size(record.id, A4) is None
    assert await repository.get(record.id) == deleted
    assert await repository.set_print_size("no-such-file", A4) is None


# --- similar_ready ---------------------------------------------------------------------


async def test_similar_files_come_nearest_first_then_newest(repository: FileRepository) -> None:
    far = await ready(repository, flipped(BASE, 1, 2, 3), minutes=1)
    near_old = await ready(repository, flipped(BASE, 5), minutes=2)
    near_new = await ready(repository, flipped(BASE, 60), minutes=3)
    same = await ready(repository, BASE, minutes=4)

    found = await repository.similar_ready("user:alice", BASE, 10, 10)

    assert ids(found) == [(same.id, 0), (near_new.id, 1), (near_old.id, 1), (far.id, 3)]
    assert found[0].record == same


async def test_equal_times_break_ties_by_id_descending(repository: FileRepository) -> None:
    first = await ready(repository, flipped(BASE, 7), id="a" * 32)
    second = await ready(repository, flipped(BASE, 8), id="b" * 32)
    found = await repository.similar_ready("user:alice", BASE, 10, 10)
    assert ids(found) == [(second.id, 1), (first.id, 1)]


async def test_the_sign_bit_counts_like_any_other(repository: FileRepository) -> None:
    sign_only = await ready(repository, flipped(BASE, 63), minutes=1)
    complement = await ready(repository, BASE ^ ((1 << 64) - 1), minutes=2)
    positive = await ready(repository, 0x0123456789ABCDEF, minutes=3)

    found = await repository.similar_ready("user:alice", BASE, 64, 10)

    distance = (BASE ^ 0x0123456789ABCDEF).bit_count()
    assert ids(found) == [(sign_only.id, 1), (positive.id, distance), (complement.id, 64)]


async def test_max_distance_is_inclusive(repository: FileRepository) -> None:
    at_limit = await ready(repository, flipped(BASE, 0, 10, 20, 30), minutes=1)
    await ready(repository, flipped(BASE, 0, 10, 20, 30, 40), minutes=2)
    assert ids(await repository.similar_ready("user:alice", BASE, 4, 10)) == [(at_limit.id, 4)]
    assert await repository.similar_ready("user:alice", BASE, 3, 10) == []


async def test_distance_zero_finds_exact_hash_matches_only(repository: FileRepository) -> None:
    same = await ready(repository, BASE, minutes=1)
    await ready(repository, flipped(BASE, 33), minutes=2)
    assert ids(await repository.similar_ready("user:alice", BASE, 0, 10)) == [(same.id, 0)]


async def test_only_the_owners_ready_files_with_a_hash_are_similar(
    repository: FileRepository,
) -> None:
    mine = await ready(repository, BASE, minutes=1)
    await ready(repository, BASE, minutes=2, owner="user:bob")
    await ready(repository, BASE, minutes=3, state=FileState.UPLOADED)
    await ready(repository, BASE, minutes=4, state=FileState.DELETED)
    await ready(repository, BASE, minutes=5, state=FileState.REJECTED)
    await ready(repository, None, minutes=6)

    found = await repository.similar_ready("user:alice", BASE, 64, 10)

    assert ids(found) == [(mine.id, 0)]


async def test_the_excluded_file_is_left_out(repository: FileRepository) -> None:
    source = await ready(repository, BASE, minutes=1)
    other = await ready(repository, flipped(BASE, 9), minutes=2)
    found = await repository.similar_ready("user:alice", BASE, 10, 10, exclude_id=source.id)
    assert ids(found) == [(other.id, 1)]


async def test_limit_keeps_the_nearest(repository: FileRepository) -> None:
    records = [await ready(repository, flipped(BASE, *range(n)), minutes=n) for n in range(6)]
    found = await repository.similar_ready("user:alice", BASE, 10, 3)
    assert ids(found) == [(records[n].id, n) for n in range(3)]


async def test_a_hash_below_the_sign_bit_is_found_too(repository: FileRepository) -> None:
    small = 0x00000000000000FF
    found_file = await ready(repository, small ^ 1, minutes=1)
    assert ids(await repository.similar_ready("user:alice", small, 1, 10)) == [(found_file.id, 1)]
