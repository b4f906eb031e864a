"""The ``SessionRepository`` and ``PurgeableFiles`` contracts, over every adapter."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryRepository
from filegate.adapters.memory.sessions import MemoryGrantRepository, MemorySessionRepository
from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.grants import SqlGrantRepository
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.adapters.sql.usage import read_usage
from filegate.domain.clock import ManualClock
from filegate.domain.grants import UploadGrant
from filegate.domain.models import Actor, FileRecord, StateChange, Transition
from filegate.domain.quotas import Usage
from filegate.domain.sessions import GuestSession, SessionEnd
from filegate.domain.states import FileState
from tests.support.records import make_record

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
HOUR = timedelta(hours=1)
ALICE = "user:alice"
DELETED = StateChange(FileState.DELETED, Actor.API)


@dataclass
class World:
    """One backend's files, sessions and grants (a claim touches all three)."""

    files: MemoryRepository | SqlRepository
    sessions: MemorySessionRepository | SqlSessionRepository
    grants: MemoryGrantRepository | SqlGrantRepository
    clock: ManualClock
    database: Database | None = None

    async def open_session(self, session_id: str = "s1", ttl: timedelta = HOUR) -> GuestSession:
        now = self.clock.now()
        session = GuestSession(session_id, now, now + ttl, client_hash="c" * 32)
        await self.sessions.add(session)
        return session

    async def add_file(self, owner: str, **overrides: object) -> FileRecord:
        return await self.files.add(make_record(owner, clock=self.clock, **overrides))

    async def usage(self, owner: str) -> Usage:
        """The owner's quota usage, as the repository keeps it."""
        if isinstance(self.files, MemoryRepository):
            return await self.files.usage(owner)
        assert self.database is not None
        return await self.database.read(lambda connection: read_usage(connection, owner))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[World]:
    if request.param == "memory":
        files = MemoryRepository(clock)
        grants = MemoryGrantRepository()
        yield World(files, MemorySessionRepository(files, grants), grants, clock)
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield World(
            SqlRepository(database, clock),
            SqlSessionRepository(database),
            SqlGrantRepository(database),
            clock,
            database,
        )
    finally:
        await database.dispose()


# --- add / get / end -----------------------------------------------------------------


async def test_add_then_get_round_trips(world: World) -> None:
    session = await world.open_session()
    stored = await world.sessions.get("s1")
    assert stored == session
    assert stored is not None
    assert stored.expires_at.utcoffset() == timedelta(0)
    assert await world.sessions.get("nope") is None


async def test_a_duplicate_id_raises_value_error(world: World) -> None:
    await world.open_session()
    with pytest.raises(ValueError):
        await world.open_session()


async def test_end_ends_once_and_requests_the_purge(world: World) -> None:
    await world.open_session()
    world.clock.advance(timedelta(minutes=5))
    now = world.clock.now()

    ended = await world.sessions.end("s1", SessionEnd.LOGOUT, now)

    assert ended is not None
    assert (ended.ended_at, ended.end_reason, ended.purge_requested_at) == (
        now,
        SessionEnd.LOGOUT,
        now,
    )
    assert not ended.is_live(now)
    assert await world.sessions.get("s1") == ended
    assert await world.sessions.end("s1", SessionEnd.EXPIRED, now) is None
    assert await world.sessions.end("missing", SessionEnd.LOGOUT, now) is None


async def test_expired_open_lists_only_unended_sessions_past_expiry(world: World) -> None:
    await world.open_session("early", ttl=timedelta(minutes=1))
    await world.open_session("later", ttl=timedelta(minutes=2))
    await world.open_session("ended", ttl=timedelta(minutes=1))
    await world.open_session("live", ttl=HOUR)
    await world.sessions.end("ended", SessionEnd.LOGOUT, world.clock.now())
    world.clock.advance(timedelta(minutes=2))

    due = await world.sessions.expired_open(world.clock.now(), 10)

    assert [s.id for s in due] == ["early", "later"]
    assert [s.id for s in await world.sessions.expired_open(world.clock.now(), 1)] == ["early"]


# --- claim -------------------------------------------------------------------------------


async def test_claim_moves_exactly_the_sessions_files_and_ends_it(world: World) -> None:
    session = await world.open_session()
    mine = [await world.add_file(session.owner.key) for _ in range(3)]
    other = await world.add_file("session:other")
    alices = await world.add_file(ALICE)
    world.clock.advance(timedelta(minutes=1))
    now = world.clock.now()

    claim = await world.sessions.claim("s1", ALICE, now)

    assert claim is not None
    assert sorted(claim.file_ids) == sorted(f.id for f in mine)
    assert (claim.session.end_reason, claim.session.claimed_by, claim.session.ended_at) == (
        SessionEnd.CLAIMED,
        ALICE,
        now,
    )
    for record in mine:
        moved = await world.files.get(record.id)
        assert moved is not None
        assert (moved.owner, moved.object_key, moved.state) == (
            ALICE,
            record.object_key,
            record.state,
        )
        assert moved.version == record.version + 1
    assert await world.files.get(other.id) == other
    assert await world.files.get(alices.id) == alices


async def test_claim_writes_one_claimed_history_row_per_file(world: World) -> None:
    session = await world.open_session()
    record = await world.add_file(session.owner.key)
    await world.files.transition(record.id, FileState.REGISTERED, DELETED)
    world.clock.advance(timedelta(minutes=1))

    await world.sessions.claim("s1", ALICE, world.clock.now())

    last = (await world.files.history(record.id))[-1]
    assert last == Transition(
        record.id, FileState.DELETED, FileState.DELETED, "CLAIMED", "api", world.clock.now()
    )


async def test_claim_clears_idempotency_keys_so_they_cannot_collide(world: World) -> None:
    session = await world.open_session()
    guest = await world.files.add(make_record(session.owner.key, clock=world.clock), "k1")
    users = await world.files.add(make_record(ALICE, clock=world.clock), "k1")

    await world.sessions.claim("s1", ALICE, world.clock.now())

    retried = await world.files.add(make_record(ALICE, clock=world.clock), "k1")
    assert retried == users
    moved = await world.files.get(guest.id)
    assert moved is not None and moved.owner == ALICE


async def test_claim_moves_the_sessions_grants(world: World) -> None:
    session = await world.open_session()
    now = world.clock.now()
    await world.grants.add(UploadGrant("g1", session.owner.key, now, now + HOUR, 5, 5))

    await world.sessions.claim("s1", ALICE, now)

    grant = await world.grants.get("g1")
    assert grant is not None and grant.owner == ALICE


async def test_a_claim_retried_by_the_same_user_moves_late_files(world: World) -> None:
    session = await world.open_session()
    first = await world.add_file(session.owner.key)
    claim = await world.sessions.claim("s1", ALICE, world.clock.now())
    late = await world.add_file(session.owner.key)
    world.clock.advance(timedelta(minutes=1))

    again = await world.sessions.claim("s1", ALICE, world.clock.now())

    assert claim is not None and again is not None
    assert claim.file_ids == (first.id,)
    assert again.file_ids == (late.id,)
    assert again.session.ended_at == claim.session.ended_at


@pytest.mark.parametrize("case", ["missing", "other user", "logged out", "expired"])
async def test_claim_refuses_sessions_it_may_not_take(world: World, case: str) -> None:
    session = await world.open_session()
    record = await world.add_file(session.owner.key)
    session_id = "missing" if case == "missing" else "s1"
    if case == "other user":
        await world.sessions.claim("s1", "user:bob", world.clock.now())
    if case == "logged out":
        await world.sessions.end("s1", SessionEnd.LOGOUT, world.clock.now())
    if case == "expired":
        world.clock.advance(HOUR)

    assert await world.sessions.claim(session_id, ALICE, world.clock.now()) is None
    stored = await world.files.get(record.id)
    assert stored is not None and stored.owner != ALICE


async def test_claim_moves_quota_usage_with_the_files(world: World) -> None:
    session = await world.open_session()
    await world.add_file(session.owner.key, declared_size=1000)
    await world.add_file(ALICE, declared_size=5)

    await world.sessions.claim("s1", ALICE, world.clock.now())

    assert await world.usage(ALICE) == Usage(pending=2, files=2, bytes=1005)
    assert await world.usage(session.owner.key) == Usage()


# --- purges ------------------------------------------------------------------------------


async def test_overdue_purges_are_handed_out_once_per_interval(world: World) -> None:
    for name in ("a", "b", "claimed", "purged", "recent"):
        await world.open_session(name)
    start = world.clock.now()
    for name in ("a", "b", "purged"):
        await world.sessions.end(name, SessionEnd.LOGOUT, start)
    await world.sessions.claim("claimed", ALICE, start)
    await world.sessions.mark_purged("purged", start)
    world.clock.advance(timedelta(minutes=20))
    await world.sessions.end("recent", SessionEnd.EXPIRED, world.clock.now())
    now = world.clock.now()
    cutoff = now - timedelta(minutes=15)

    overdue = await world.sessions.overdue_purges(cutoff, now, 10)

    assert [s.id for s in overdue] == ["a", "b"]
    assert all(s.purge_requested_at == now for s in overdue)
    assert await world.sessions.overdue_purges(cutoff, now, 10) == []


async def test_overdue_purges_hand_out_the_longest_waiting_first(world: World) -> None:
    for name in ("late", "early", "middle"):
        await world.open_session(name)
    for name in ("early", "middle", "late"):
        await world.sessions.end(name, SessionEnd.LOGOUT, world.clock.now())
        world.clock.advance(timedelta(minutes=1))
    now = world.clock.now()

    first = await world.sessions.overdue_purges(now, now, 2)
    rest = await world.sessions.overdue_purges(now, now, 2)

    assert [s.id for s in first] == ["early", "middle"]
    assert [s.id for s in rest] == ["late"]


async def test_concurrent_sweeps_never_hand_out_one_purge_twice(world: World) -> None:
    names = [f"s{i:02}" for i in range(12)]
    for name in names:
        await world.open_session(name)
        await world.sessions.end(name, SessionEnd.LOGOUT, world.clock.now())
    world.clock.advance(HOUR)
    now = world.clock.now()

    sweeps = await asyncio.gather(
        *(world.sessions.overdue_purges(now, now, len(names)) for _ in range(4))
    )

    handed_out = sorted(s.id for sweep in sweeps for s in sweep)
    assert handed_out == names


async def test_mark_purged_records_the_time_once(world: World) -> None:
    await world.open_session()
    start = world.clock.now()
    await world.sessions.end("s1", SessionEnd.LOGOUT, start)
    await world.sessions.mark_purged("s1", start)
    world.clock.advance(HOUR)
    await world.sessions.mark_purged("s1", world.clock.now())

    stored = await world.sessions.get("s1")
    assert stored is not None and stored.purged_at == start


async def test_purgeable_files_are_the_owners_undeleted_unretained_files_oldest_first(
    world: World,
) -> None:
    owner = "session:s1"
    oldest = await world.add_file(owner)
    world.clock.advance(timedelta(seconds=1))
    deleted = await world.add_file(owner)
    await world.files.transition(deleted.id, FileState.REGISTERED, DELETED)
    world.clock.advance(timedelta(seconds=1))
    now = world.clock.now()
    pinned = await world.add_file(owner, pinned=True)
    kept = await world.add_file(owner, retain_until=now + HOUR)
    lapsed = await world.add_file(owner, retain_until=now - HOUR)
    newest = await world.add_file(owner)
    await world.add_file("session:other")

    purgeable = await world.sessions.purgeable_files(owner, now, 10)

    assert [f.id for f in purgeable] == [oldest.id, *sorted([lapsed.id, newest.id])]
    assert pinned.id not in {f.id for f in purgeable}
    assert kept.id not in {f.id for f in purgeable}
    assert len(await world.sessions.purgeable_files(owner, now, 1)) == 1


async def test_a_deadline_passing_makes_a_retained_file_purgeable(world: World) -> None:
    now = world.clock.now()
    record = await world.add_file("session:s1", retain_until=now + HOUR)
    later = now + HOUR
    assert [f.id for f in await world.sessions.purgeable_files("session:s1", later, 10)] == [
        record.id
    ]


def test_a_session_is_live_until_it_ends_or_expires() -> None:
    clock = ManualClock()
    now = clock.now()
    session = GuestSession("s", now, now + HOUR)
    assert session.is_live(now)
    assert not session.is_live(now + HOUR)
    assert not dataclasses.replace(session, ended_at=now).is_live(now)
