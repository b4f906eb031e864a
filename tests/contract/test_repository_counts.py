"""``FileRepository.count_by_state``, run against every adapter of the port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from filegate.adapters.memory import MemoryRepository
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.models import Actor, StateChange
from filegate.domain.ports import FileRepository
from filegate.domain.states import FileState
from tests.support.records import make_record

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def repository(request: pytest.FixtureRequest) -> AsyncIterator[FileRepository]:
    clock = ManualClock()
    if request.param == "memory":
        yield MemoryRepository(clock)
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield SqlRepository(database, clock)
    finally:
        await database.dispose()


async def test_an_empty_repository_counts_zero_in_every_state(
    repository: FileRepository,
) -> None:
    assert await repository.count_by_state() == dict.fromkeys(FileState, 0)


async def test_files_of_every_owner_are_counted_in_their_current_state(
    repository: FileRepository,
) -> None:
    for owner in ("user:alice", "user:alice", "user:bob", "session:s-1"):
        await repository.add(make_record(owner))
    moved = await repository.add(make_record("user:carol"))
    await repository.transition(
        moved.id, FileState.REGISTERED, StateChange(FileState.UPLOADED, Actor.STORE)
    )
    await repository.transition(
        moved.id, FileState.UPLOADED, StateChange(FileState.READY, Actor.WORKER)
    )

    counts = await repository.count_by_state()

    assert counts == {**dict.fromkeys(FileState, 0), FileState.REGISTERED: 4, FileState.READY: 1}
