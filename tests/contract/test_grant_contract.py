"""The ``GrantRepository`` and ``RateLimiter`` contracts, over every adapter; transient
failures of the SQL session, grant and rate-limit adapters."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from filegate.adapters.memory.sessions import MemoryGrantRepository, MemoryRateLimiter
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.grants import SqlGrantRepository
from filegate.adapters.sql.rate import SqlRateLimiter
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.domain.errors import BackendUnavailable
from filegate.domain.grants import UploadGrant
from filegate.domain.ports import GrantRepository, RateLimiter
from filegate.domain.sessions import RateDecision, window_start

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
ALICE = "user:alice"


def grant(grant_id: str = "g1", owner: str = ALICE, uses: int = 5) -> UploadGrant:
    return UploadGrant(grant_id, owner, NOW, NOW + HOUR, uses, uses)


@pytest.fixture(params=BACKENDS)
async def grants(request: pytest.FixtureRequest) -> AsyncIterator[GrantRepository]:
    if request.param == "memory":
        yield MemoryGrantRepository()
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield SqlGrantRepository(database)
    finally:
        await database.dispose()


@pytest.fixture(params=BACKENDS)
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield SqlRateLimiter(database)
    finally:
        await database.dispose()


# --- grants ------------------------------------------------------------------------------


async def test_a_grant_is_found_by_its_short_links_code(grants: GrantRepository) -> None:
    coded = dataclasses.replace(grant("g1"), code="abcdefghjkmnpq")
    await grants.add(coded)
    await grants.add(grant("g2"))  # grants without a code (issued before short links) coexist
    await grants.add(grant("g3"))

    assert await grants.by_code("abcdefghjkmnpq") == coded
    assert await grants.by_code("zzzzzzzzzzzzzz") is None


async def test_two_grants_never_share_a_code(grants: GrantRepository) -> None:
    await grants.add(dataclasses.replace(grant("g1"), code="abcdefghjkmnpq"))

    with pytest.raises(ValueError):
        await grants.add(dataclasses.replace(grant("g2"), code="abcdefghjkmnpq"))


async def test_add_then_get_round_trips(grants: GrantRepository) -> None:
    await grants.add(grant())
    assert await grants.get("g1") == grant()
    assert await grants.get("nope") is None
    with pytest.raises(ValueError):
        await grants.add(grant())


async def test_take_uses_takes_what_is_left_and_no_more(grants: GrantRepository) -> None:
    await grants.add(grant(uses=5))

    assert await grants.take_uses("g1", 3, NOW) == 3
    assert await grants.take_uses("g1", 3, NOW) == 2
    assert await grants.take_uses("g1", 1, NOW) == 0
    stored = await grants.get("g1")
    assert stored is not None and stored.uses_left == 0


async def test_take_uses_of_a_revoked_expired_or_missing_grant_is_zero(
    grants: GrantRepository,
) -> None:
    await grants.add(grant("revoked"))
    await grants.add(grant("expired"))
    await grants.revoke("revoked", ALICE, NOW)

    assert await grants.take_uses("revoked", 1, NOW) == 0
    assert await grants.take_uses("expired", 1, NOW + HOUR) == 0
    assert await grants.take_uses("missing", 1, NOW) == 0
    assert await grants.take_uses("expired", 0, NOW) == 0


async def test_concurrent_takers_never_exceed_the_total(grants: GrantRepository) -> None:
    await grants.add(grant(uses=10))

    taken = await asyncio.gather(*(grants.take_uses("g1", 1, NOW) for _ in range(25)))

    assert sum(taken) == 10
    stored = await grants.get("g1")
    assert stored is not None and stored.uses_left == 0


async def test_concurrent_batch_takers_never_exceed_the_total(grants: GrantRepository) -> None:
    await grants.add(grant(uses=10))

    taken = await asyncio.gather(*(grants.take_uses("g1", 3, NOW) for _ in range(6)))

    assert sum(taken) == 10
    assert sorted(taken) == [0, 0, 1, 3, 3, 3]
    stored = await grants.get("g1")
    assert stored is not None and stored.uses_left == 0


async def test_give_back_returns_uses_but_never_past_the_total(grants: GrantRepository) -> None:
    await grants.add(grant(uses=5))
    await grants.take_uses("g1", 4, NOW)

    await grants.give_back("g1", 2)
    stored = await grants.get("g1")
    assert stored is not None and stored.uses_left == 3

    await grants.give_back("g1", 10)
    await grants.give_back("g1", 0)
    await grants.give_back("missing", 1)
    stored = await grants.get("g1")
    assert stored is not None and stored.uses_left == 5


async def test_revoke_is_owner_scoped_and_idempotent(grants: GrantRepository) -> None:
    await grants.add(grant())
    later = NOW + MINUTE

    assert not await grants.revoke("g1", "user:bob", NOW)
    assert not await grants.revoke("missing", ALICE, NOW)
    assert await grants.revoke("g1", ALICE, NOW)
    assert await grants.revoke("g1", ALICE, later)
    stored = await grants.get("g1")
    assert stored is not None and stored.revoked_at == NOW
    assert not stored.is_usable(NOW)


async def test_revoke_owned_revokes_every_grant_of_the_owner_only(
    grants: GrantRepository,
) -> None:
    await grants.add(grant("a", "session:s1"))
    await grants.add(grant("b", "session:s1"))
    await grants.add(grant("c", ALICE))

    assert await grants.revoke_owned("session:s1", NOW) == 2
    assert await grants.revoke_owned("session:s1", NOW) == 0
    revoked = [g for g in [await grants.get(i) for i in "abc"] if g and g.revoked_at]
    assert [g.id for g in revoked] == ["a", "b"]


async def test_linked_files_are_remembered_once(grants: GrantRepository) -> None:
    assert await grants.link_file("g1", "f1")
    assert not await grants.link_file("g1", "f1")
    assert await grants.link_file("g2", "f1")

    assert await grants.registered("g1", "f1")
    assert not await grants.registered("g1", "f2")
    assert not await grants.registered("g3", "f1")


def test_a_grant_is_usable_until_revoked_or_expired() -> None:
    assert grant().is_usable(NOW)
    assert not grant().is_usable(NOW + HOUR)
    revoked = UploadGrant("g", ALICE, NOW, NOW + HOUR, 1, 1, revoked_at=NOW)
    assert not revoked.is_usable(NOW)


# --- rate limits -------------------------------------------------------------------------


async def test_hits_are_allowed_up_to_the_limit_per_window(limiter: RateLimiter) -> None:
    decisions = [await limiter.hit("k", 3, MINUTE, NOW) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.hits for d in decisions] == [1, 2, 3, 4]
    assert decisions[-1].retry_after == timedelta(seconds=30)
    assert decisions[0].retry_after == timedelta(0)


async def test_a_new_window_starts_afresh_and_buckets_are_separate(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit("k", 2, MINUTE, NOW)

    assert (await limiter.hit("other", 2, MINUTE, NOW)).allowed
    assert await limiter.hit("k", 2, MINUTE, NOW + timedelta(seconds=30)) == RateDecision(
        True, timedelta(0), 1
    )


async def test_concurrent_hits_are_all_counted(limiter: RateLimiter) -> None:
    decisions = await asyncio.gather(*(limiter.hit("k", 5, MINUTE, NOW) for _ in range(12)))

    assert sorted(d.hits for d in decisions) == list(range(1, 13))
    assert sum(d.allowed for d in decisions) == 5


async def test_prune_forgets_old_windows_only(limiter: RateLimiter) -> None:
    await limiter.hit("old", 5, MINUTE, NOW - 3 * MINUTE)
    await limiter.hit("new", 5, MINUTE, NOW)

    assert await limiter.prune(NOW - MINUTE) == 1
    assert (await limiter.hit("new", 5, MINUTE, NOW)).hits == 2
    assert (await limiter.hit("old", 5, MINUTE, NOW - 3 * MINUTE)).hits == 1


def test_windows_tile_time_from_the_epoch() -> None:
    assert window_start(NOW, MINUTE) == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert window_start(NOW, HOUR) == datetime(2026, 6, 1, 12, tzinfo=UTC)


# --- unreachable database --------------------------------------------------------------------


async def test_an_unreachable_database_is_backend_unavailable() -> None:
    database = open_database("postgresql://postgres@127.0.0.1:1/nowhere")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "grant": lambda: SqlGrantRepository(database).take_uses("g", 1, NOW),
        "session": lambda: SqlSessionRepository(database).get("s"),
        "claim": lambda: SqlSessionRepository(database).claim("s", ALICE, NOW),
        "rate": lambda: SqlRateLimiter(database).hit("k", 1, MINUTE, NOW),
    }
    try:
        for name, call in calls.items():
            with pytest.raises(BackendUnavailable) as caught:
                await call()
            assert caught.value.__cause__ is not None, name
    finally:
        await database.dispose()
