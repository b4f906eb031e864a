"""Contract of the retention, duplicate, usage and reconciler queries, and of usage kept by
``add``/``transition``: run against memory, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import update

from filegate.adapters.memory import MemoryRepository
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.schema import owner_usage
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.ports import (
    FileRepository,
    ReconcileQueries,
    RetentionRepository,
    UsageLedger,
)
from filegate.domain.quotas import QuotaExceeded, QuotaKind, QuotaLimits, Usage
from filegate.domain.retention import Retention
from filegate.domain.states import FileState
from tests.support.records import make_record

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OWNER = "user:alice"
OTHER = "user:bob"
SHA = "ab" * 32
HOUR = timedelta(hours=1)


class Lifecycle(RetentionRepository, UsageLedger, ReconcileQueries, Protocol):
    """Every query port the lifecycle adds (one object implements them all)."""


@dataclasses.dataclass
class Backend:
    files: FileRepository
    lifecycle: Lifecycle
    clock: ManualClock
    corrupt_usage: Any  # async (owner, usage) -> None; None where usage cannot drift

    async def add(self, owner: str = OWNER, **overrides: Any) -> FileRecord:
        return await self.files.add(make_record(owner, clock=self.clock, **overrides))

    async def move(self, record: FileRecord, *states: FileState) -> FileRecord:
        current = record
        for state in states:
            moved = await self.files.transition(
                current.id, current.state, StateChange(state, Actor.WORKER, sha256=SHA)
            )
            assert moved is not None
            current = moved
        return current


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    clock = ManualClock()
    if request.param == "memory":
        memory = MemoryRepository(clock)
        yield Backend(memory, memory, clock, None)
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))

    async def corrupt(owner: str, usage: Usage) -> None:
        statement = (
            update(owner_usage)
            .where(owner_usage.c.owner == owner)
            .values(pending=usage.pending, files=usage.files, bytes=usage.bytes)
        )
        await database.write(lambda connection: connection.execute(statement))

    try:
        yield Backend(
            SqlRepository(database, clock), SqlLifecycleRepository(database), clock, corrupt
        )
    finally:
        await database.dispose()


# --- usage ----------------------------------------------------------------------------


async def test_usage_of_an_owner_without_files_is_zero(backend: Backend) -> None:
    assert await backend.lifecycle.usage("user:nobody") == Usage()


async def test_usage_follows_every_transition(backend: Backend) -> None:
    a = await backend.add(declared_size=100)
    b = await backend.add(declared_size=50)
    await backend.add(OTHER, declared_size=7)
    assert await backend.lifecycle.usage(OWNER) == Usage(2, 2, 150)

    await backend.move(a, FileState.UPLOADED, FileState.READY)
    assert await backend.lifecycle.usage(OWNER) == Usage(1, 2, 150)
    await backend.move(b, FileState.REJECTED)
    assert await backend.lifecycle.usage(OWNER) == Usage(0, 1, 100)
    await backend.files.transition(a.id, FileState.READY, StateChange(FileState.DELETED, Actor.API))
    assert await backend.lifecycle.usage(OWNER) == Usage()
    assert await backend.lifecycle.usage(OTHER) == Usage(1, 1, 7)


async def test_replayed_transitions_count_once(backend: Backend) -> None:
    record = await backend.add(declared_size=100)
    change = StateChange(FileState.EXPIRED, Actor.SWEEPER)
    for _ in range(3):
        await backend.files.transition(record.id, FileState.REGISTERED, change)
    assert await backend.lifecycle.usage(OWNER) == Usage()


async def test_add_within_limits_counts_and_over_limits_refuses(backend: Backend) -> None:
    limits = QuotaLimits(max_files=2)
    await backend.files.add(make_record(declared_size=10), limits=limits)
    await backend.files.add(make_record(declared_size=10), limits=limits)
    refused = make_record(declared_size=10)
    with pytest.raises(QuotaExceeded) as raised:
        await backend.files.add(refused, limits=limits)
    assert (raised.value.kind, raised.value.limit, raised.value.usage) == (QuotaKind.FILES, 2, 2)
    assert raised.value.code is ErrorCode.QUOTA_EXCEEDED
    assert await backend.files.get(refused.id) is None
    assert await backend.lifecycle.usage(OWNER) == Usage(2, 2, 20)


async def test_a_released_file_makes_room_again(backend: Backend) -> None:
    limits = QuotaLimits(max_pending=1)
    first = await backend.files.add(make_record(), limits=limits)
    with pytest.raises(QuotaExceeded) as raised:
        await backend.files.add(make_record(), limits=limits)
    assert raised.value.code is ErrorCode.TOO_MANY_PENDING
    await backend.move(first, FileState.UPLOADED, FileState.READY)
    await backend.files.add(make_record(), limits=limits)
    assert await backend.lifecycle.usage(OWNER) == Usage(1, 2, 2048)


async def test_bytes_limit_counts_the_declared_size(backend: Backend) -> None:
    limits = QuotaLimits(max_bytes=1000)
    await backend.files.add(make_record(declared_size=600), limits=limits)
    with pytest.raises(QuotaExceeded) as raised:
        await backend.files.add(make_record(declared_size=401), limits=limits)
    assert raised.value.extra == {"quota": "bytes", "limit": 1000, "usage": 600}
    await backend.files.add(make_record(declared_size=400), limits=limits)


async def test_an_idempotent_replay_is_answered_even_when_over_quota(backend: Backend) -> None:
    limits = QuotaLimits(max_files=1)
    first = await backend.files.add(make_record(), "key-1", limits)
    again = await backend.files.add(make_record(), "key-1", limits)
    assert again == first
    assert await backend.lifecycle.usage(OWNER) == Usage(1, 1, 1024)


async def test_limits_are_per_owner(backend: Backend) -> None:
    limits = QuotaLimits(max_files=1)
    await backend.files.add(make_record(OWNER), limits=limits)
    await backend.files.add(make_record(OTHER), limits=limits)


async def test_recount_repairs_drifted_usage(backend: Backend) -> None:
    await backend.add(declared_size=100)
    await backend.add(OTHER, declared_size=5)
    if backend.corrupt_usage is None:
        assert await backend.lifecycle.recount_usage() == 0
        return
    await backend.corrupt_usage(OWNER, Usage(9, 9, 9))
    assert await backend.lifecycle.recount_usage() == 1
    assert await backend.lifecycle.usage(OWNER) == Usage(1, 1, 100)
    assert await backend.lifecycle.usage(OTHER) == Usage(1, 1, 5)
    assert await backend.lifecycle.recount_usage() == 0


# --- retention ------------------------------------------------------------------------


async def test_set_retention_stores_it_and_bumps_the_version(backend: Backend) -> None:
    record = await backend.add()
    now = backend.clock.now()
    stored = await backend.lifecycle.set_retention(
        record.id, record.version, Retention(now + HOUR, pinned=True), now
    )
    assert stored is not None
    assert (stored.retain_until, stored.pinned, stored.version) == (now + HOUR, True, 2)
    assert await backend.files.get(record.id) == stored


async def test_set_retention_over_a_stale_version_writes_nothing(backend: Backend) -> None:
    record = await backend.add()
    moved = await backend.move(record, FileState.UPLOADED)
    now = backend.clock.now()
    assert await backend.lifecycle.set_retention(record.id, 1, Retention(None, True), now) is None
    assert await backend.files.get(record.id) == moved


async def test_set_retention_refuses_deleted_and_due_files(backend: Backend) -> None:
    now = backend.clock.now()
    deleted = await backend.move(await backend.add(), FileState.DELETED)
    due = await backend.add(retain_until=now - HOUR)
    for record in (deleted, due):
        pinned = Retention(None, pinned=True)
        assert await backend.lifecycle.set_retention(record.id, record.version, pinned, now) is None


async def test_retention_due_lists_only_due_files_earliest_first(backend: Backend) -> None:
    now = backend.clock.now()
    later = await backend.add(retain_until=now - timedelta(minutes=1))
    earlier = await backend.add(retain_until=now - HOUR)
    await backend.add(retain_until=now - HOUR, pinned=True)
    await backend.add(retain_until=now + HOUR)
    await backend.add()
    gone = await backend.add(retain_until=now - HOUR)
    await backend.move(gone, FileState.DELETED)

    due = await backend.lifecycle.retention_due(now, 10)
    assert [r.id for r in due] == [earlier.id, later.id]
    assert [r.id for r in await backend.lifecycle.retention_due(now, 1)] == [earlier.id]


async def test_retention_round_trips_through_add(backend: Backend) -> None:
    until = backend.clock.now() + HOUR
    record = await backend.add(retain_until=until, pinned=True)
    stored = await backend.files.get(record.id)
    assert stored is not None
    assert (stored.retain_until, stored.pinned) == (until, True)


# --- reconciler pages -----------------------------------------------------------------


async def test_in_state_pages_by_id_among_files_unchanged_since(backend: Backend) -> None:
    old = sorted([await backend.add() for _ in range(5)], key=lambda r: r.id)
    cutoff = backend.clock.now()
    backend.clock.advance(HOUR)
    await backend.add()  # changed too recently
    await backend.move(await backend.add(), FileState.UPLOADED)  # another state

    first = await backend.lifecycle.in_state(FileState.REGISTERED, cutoff, None, 3)
    rest = await backend.lifecycle.in_state(FileState.REGISTERED, cutoff, first[-1].id, 3)
    assert [r.id for r in first + rest] == [r.id for r in old]


async def test_states_by_key_leaves_unknown_keys_out(backend: Backend) -> None:
    ready = await backend.move(await backend.add(), FileState.UPLOADED, FileState.READY)
    registered = await backend.add(OTHER)
    found = await backend.lifecycle.states_by_key(
        [ready.object_key, registered.object_key, "no/such-key", ready.object_key]
    )
    assert found == {ready.object_key: FileState.READY, registered.object_key: FileState.REGISTERED}
    assert await backend.lifecycle.states_by_key([]) == {}
