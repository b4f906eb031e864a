"""Concurrent writers on real databases: compare-and-set lets exactly one of them win."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.models import Actor, ImageInfo, RejectionReason, StateChange
from filegate.domain.states import FileState
from tests.support.records import make_record

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
WRITERS = 8


@pytest.fixture(params=SQL_BACKENDS)
async def repository(request: pytest.FixtureRequest) -> AsyncIterator[SqlRepository]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield SqlRepository(database, ManualClock())
    finally:
        await database.dispose()


async def test_one_of_many_identical_transitions_wins(repository: SqlRepository) -> None:
    record = await repository.add(make_record())
    change = StateChange(FileState.UPLOADED, Actor.STORE)
    results = await asyncio.gather(
        *(repository.transition(record.id, FileState.REGISTERED, change) for _ in range(WRITERS))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].version == 2
    history = await repository.history(record.id)
    assert [t.to_state for t in history] == [FileState.REGISTERED, FileState.UPLOADED]


async def test_one_of_many_competing_targets_wins(repository: SqlRepository) -> None:
    record = await repository.add(make_record())
    image = ImageInfo("PNG", 1, 1, 1, "RGB")
    changes = [
        StateChange(FileState.READY, Actor.WORKER, image=image),
        StateChange(FileState.REJECTED, Actor.WORKER, RejectionReason.CORRUPT_IMAGE),
        StateChange(FileState.EXPIRED, Actor.SWEEPER),
        StateChange(FileState.DELETED, Actor.API),
    ] * (WRITERS // 4)
    results = await asyncio.gather(
        *(repository.transition(record.id, FileState.REGISTERED, c) for c in changes)
    )
    [winner] = [r for r in results if r is not None]
    assert await repository.get(record.id) == winner
    assert len(await repository.history(record.id)) == 2


async def test_concurrent_adds_with_one_key_create_one_file(repository: SqlRepository) -> None:
    attempts = [make_record() for _ in range(WRITERS)]
    results = await asyncio.gather(*(repository.add(r, idempotency_key="k") for r in attempts))
    assert len({r.id for r in results}) == 1
    stored = [await repository.get(r.id) for r in attempts]
    assert [s for s in stored if s is not None] == [results[0]]
