"""Usage counters as upserts on real databases: a batch's plan is refused when they moved;
a registration is one transaction whatever it checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemorySigner
from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.usage import (
    NewFile,
    UsageMoved,
    apply_plan,
    plan_many,
    read_usage,
    reserve,
)
from filegate.domain.clock import ManualClock
from filegate.domain.models import Actor, StateChange
from filegate.domain.quotas import QuotaExceeded, QuotaLimits, Usage
from filegate.domain.states import FileState
from filegate.services.registration import Registrar, RegistrationPolicy, RegistrationRequest

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OWNER = "user:alice"
LIMITS = QuotaLimits(max_files=5)
NEW = NewFile(OWNER, FileState.REGISTERED, 100)
POLICY = RegistrationPolicy(
    max_size=10_000,
    allowed_types=frozenset({"image/jpeg"}),
    upload_window=timedelta(hours=1),
    upload_url_ttl=timedelta(minutes=15),
)
SHA = "cd" * 32


@pytest.fixture(params=SQL_BACKENDS)
async def database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    yield database
    await database.dispose()


async def usage(database: Database) -> Usage:
    return await database.read(lambda c: read_usage(c, OWNER))


async def test_a_plan_applies_while_the_counters_are_unchanged(database: Database) -> None:
    await database.write(lambda c: reserve(c, OWNER, FileState.REGISTERED, 100, None))
    plan = await database.read(lambda c: plan_many(c, [NEW, NEW], LIMITS))
    await database.write(lambda c: apply_plan(c, plan))
    assert await usage(database) == Usage(3, 3, 300)


async def test_a_plan_is_refused_when_the_counters_moved(database: Database) -> None:
    plan = await database.read(lambda c: plan_many(c, [NEW], LIMITS))
    await database.write(lambda c: reserve(c, OWNER, FileState.REGISTERED, 100, None))
    with pytest.raises(UsageMoved):
        await database.write(lambda c: apply_plan(c, plan))
    assert await usage(database) == Usage(1, 1, 100)


async def test_reserve_refuses_the_file_past_the_limit_and_counts_nothing(
    database: Database,
) -> None:
    for _ in range(5):
        await database.write(lambda c: reserve(c, OWNER, FileState.REGISTERED, 100, LIMITS))
    with pytest.raises(QuotaExceeded) as refused:
        await database.write(lambda c: reserve(c, OWNER, FileState.REGISTERED, 100, LIMITS))
    assert (refused.value.limit, refused.value.usage) == (5, 5)
    assert await usage(database) == Usage(5, 5, 500)


async def test_registrations_and_transitions_are_one_write_each(database: Database) -> None:
    clock = ManualClock()
    repository = SqlRepository(database, clock)
    registrar = Registrar(
        repository, MemorySigner(clock), clock, POLICY, quotas=LIMITS, dedupe=True
    )
    request = RegistrationRequest("photo.jpg", "image/jpeg", 100, sha256=SHA)
    before = database.transactions.snapshot()

    first = await registrar.register(OWNER, request, "key-1")
    await registrar.register(OWNER, request, "key-1")  # the replay: a conflict, one re-read
    await registrar.register_many(OWNER, [request] * 3)
    ready = StateChange(FileState.READY, Actor.WORKER, sha256=SHA)
    await repository.transition_many(
        [(first.file.id, FileState.REGISTERED, ready), ("missing", FileState.UPLOADED, ready)]
    )
    duplicate = await registrar.register(OWNER, request)

    after = database.transactions.snapshot()
    assert duplicate.deduplicated and duplicate.file.id == first.file.id
    assert (after["write"] - before["write"], after["read"] - before["read"]) == (5, 1)
    assert await usage(database) == Usage(3, 4, 400)
