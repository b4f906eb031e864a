"""``SweepClaims``: one claim per interval across workers, on memory, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemorySweepClaims
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.sweep_claims import SqlSweepClaims
from filegate.domain.clock import ManualClock
from filegate.domain.ports import SweepClaims

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
EVERY = timedelta(minutes=10)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=BACKENDS)
async def claims(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[SweepClaims]:
    if request.param == "memory":
        yield MemorySweepClaims(clock)
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    yield SqlSweepClaims(database, clock)
    await database.dispose()


async def test_the_first_claim_of_a_sweep_wins(claims: SweepClaims) -> None:
    assert await claims.claim("expiry", EVERY, "worker-a") is True


async def test_within_the_interval_no_other_worker_gets_it(
    claims: SweepClaims, clock: ManualClock
) -> None:
    await claims.claim("expiry", EVERY, "worker-a")
    clock.advance(EVERY / 2)
    assert await claims.claim("expiry", EVERY, "worker-b") is False
    assert await claims.claim("expiry", EVERY, "worker-a") is False


async def test_once_due_again_exactly_one_of_many_racing_workers_gets_it(
    claims: SweepClaims, clock: ManualClock
) -> None:
    await claims.claim("expiry", EVERY, "worker-a")
    for _ in range(3):
        clock.advance(EVERY)
        won = await asyncio.gather(*(claims.claim("expiry", EVERY, f"w{i}") for i in range(6)))
        assert won.count(True) == 1


async def test_a_worker_waking_a_little_early_still_gets_its_turn(
    claims: SweepClaims, clock: ManualClock
) -> None:
    await claims.claim("expiry", EVERY, "worker-a")
    clock.advance(EVERY * 0.95)  # within the slack: would otherwise skip a whole interval
    assert await claims.claim("expiry", EVERY, "worker-b") is True


async def test_a_dead_workers_claim_passes_to_another_after_the_interval(
    claims: SweepClaims, clock: ManualClock
) -> None:
    assert await claims.claim("reconcile", EVERY, "leader-that-dies") is True
    clock.advance(EVERY)
    assert await claims.claim("reconcile", EVERY, "survivor") is True
    assert await claims.claim("reconcile", EVERY, "leader-that-dies") is False


async def test_sweeps_are_claimed_independently(claims: SweepClaims) -> None:
    assert await claims.claim("expiry", EVERY, "worker-a") is True
    assert await claims.claim("sessions", EVERY, "worker-b") is True
