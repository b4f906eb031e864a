"""Quotas under concurrent registrations on real databases: usage never passes a limit.

Two databases stand for two API processes sharing one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemorySigner
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.errors import FilegateError
from filegate.domain.quotas import QuotaExceeded, QuotaLimits, Usage
from filegate.services.registration import (
    Registrar,
    Registration,
    RegistrationPolicy,
    RegistrationRequest,
)

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OWNER = "user:alice"
ATTEMPTS = 20
POLICY = RegistrationPolicy(
    max_size=10_000,
    allowed_types=frozenset({"image/jpeg"}),
    upload_window=timedelta(hours=1),
    upload_url_ttl=timedelta(minutes=15),
)
REQUEST = RegistrationRequest("photo.jpg", "image/jpeg", 100)


class Processes:
    """Two registrars on two connections (pools) to one database, and the usage they share."""

    def __init__(self, url: str, limits: QuotaLimits) -> None:
        clock = ManualClock()
        self.databases = [open_database(url), open_database(url)]
        self.registrars = [
            Registrar(SqlRepository(d, clock), MemorySigner(clock), clock, POLICY, quotas=limits)
            for d in self.databases
        ]
        self.ledger = SqlLifecycleRepository(self.databases[0])

    async def register_all(self, count: int) -> list[Registration | BaseException]:
        calls = [self.registrars[i % 2].register(OWNER, REQUEST) for i in range(count)]
        return await asyncio.gather(*calls, return_exceptions=True)

    async def register_batches(self, batches: int, size: int) -> list[Registration | FilegateError]:
        """``batches`` concurrent ``register_many`` calls of ``size`` files, flattened."""
        calls = [
            self.registrars[i % 2].register_many(OWNER, [REQUEST] * size) for i in range(batches)
        ]
        return [outcome for batch in await asyncio.gather(*calls) for outcome in batch]

    async def close(self) -> None:
        for database in self.databases:
            await database.dispose()


@pytest.fixture(params=SQL_BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(f"{request.param}_url")
    return value


@pytest.fixture
async def files_limited(url: str) -> AsyncIterator[Processes]:
    processes = Processes(url, QuotaLimits(max_files=5))
    yield processes
    await processes.close()


@pytest.fixture
async def pending_limited(url: str) -> AsyncIterator[Processes]:
    processes = Processes(url, QuotaLimits(max_pending=3, max_bytes=10_000))
    yield processes
    await processes.close()


async def test_twenty_concurrent_registrations_against_five_files(files_limited: Processes) -> None:
    results = await files_limited.register_all(ATTEMPTS)

    succeeded = [r for r in results if isinstance(r, Registration)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert (len(succeeded), len(refused)) == (5, ATTEMPTS - 5)
    assert {(r.limit, r.usage) for r in refused} == {(5, 5)}
    assert await files_limited.ledger.usage(OWNER) == Usage(5, 5, 500)


async def test_concurrent_registrations_against_pending_limit(pending_limited: Processes) -> None:
    results = await pending_limited.register_all(ATTEMPTS)

    assert sum(isinstance(r, Registration) for r in results) == 3
    assert all(isinstance(r, Registration | QuotaExceeded) for r in results)
    assert await pending_limited.ledger.usage(OWNER) == Usage(3, 3, 300)
    assert await pending_limited.ledger.recount_usage() == 0


async def test_concurrent_batches_against_five_files(files_limited: Processes) -> None:
    outcomes = await files_limited.register_batches(batches=6, size=4)

    succeeded = [o for o in outcomes if isinstance(o, Registration)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert (len(succeeded), len(refused)) == (5, 6 * 4 - 5)
    assert {(r.limit, r.usage) for r in refused} == {(5, 5)}
    assert await files_limited.ledger.usage(OWNER) == Usage(5, 5, 500)
    assert await files_limited.ledger.recount_usage() == 0
