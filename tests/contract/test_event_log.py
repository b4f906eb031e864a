"""The outbox over SQL: events written with the changes that cause them, followed in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import create_engine

from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.events import EVENTS, Outbox, SqlEventLog
from filegate.adapters.sql.queue_signals import signals_for
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.bootstrap.notifications import ApiEventRenderer
from filegate.domain.clock import ManualClock
from filegate.domain.events import Event, EventType, StoredEvent, make_event
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.printing import PrintThresholds
from filegate.domain.sessions import GuestSession, SessionEnd
from filegate.domain.states import FileState
from tests.support.records import make_record

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALICE, BOB = "user:alice", "user:bob"
NO_WAIT = timedelta(0)
PATIENCE = timedelta(seconds=30)
RENDERER = ApiEventRenderer(PrintThresholds())


@dataclass
class Log:
    database: Database
    files: SqlRepository
    sessions: SqlSessionRepository
    events: SqlEventLog
    outbox: Outbox
    clock: ManualClock

    async def file(self, owner: str = ALICE) -> FileRecord:
        return await self.files.add(make_record(owner, clock=self.clock))

    async def move(self, record: FileRecord, *states: FileState) -> FileRecord:
        current = record
        for state in states:
            moved = await self.files.transition(
                current.id, current.state, StateChange(state, Actor.WORKER)
            )
            assert moved is not None
            current = moved
        return current


async def visible(
    feed: SqlEventLog, owner: str, cursor: str, count: int, limit: int = 10
) -> list[StoredEvent]:
    """The next ``count`` events after ``cursor``, however many looks that takes.

    On PostgreSQL an event shows once every transaction older than its own has ended, in
    any database of the server, so a test running beside others may need several looks.
    """
    found: list[StoredEvent] = []
    while len(found) < count:
        more = await feed.follow(owner, found[-1].cursor if found else cursor, limit, PATIENCE)
        assert more, f"only {len(found)} of {count} events became visible"
        found += more
    return found


@pytest.fixture(params=BACKENDS)
async def log(request: pytest.FixtureRequest) -> AsyncIterator[Log]:
    clock = ManualClock()
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    outbox = Outbox(RENDERER, signals_for(database), relay=True)
    events = SqlEventLog(database, clock)
    try:
        yield Log(
            database,
            SqlRepository(database, clock, outbox),
            SqlSessionRepository(database, outbox),
            events,
            outbox,
            clock,
        )
    finally:
        await events.close()
        await signals_for(database).close()
        await database.dispose()


async def test_a_transition_into_a_final_state_records_its_event_with_the_file_as_shown(
    log: Log,
) -> None:
    start = await log.events.head()
    ready = await log.move(await log.file(), FileState.UPLOADED, FileState.READY)

    [stored] = await visible(log.events, ALICE, start, 1)

    event = stored.event
    assert (event.type, event.owner, event.subject) == (EventType.FILE_READY, ALICE, ready.id)
    body = json.loads(event.body)
    assert body["type"] == "file.ready"
    assert body["data"] == RENDERER.file(ready)
    assert body["data"]["state"] == "ready"
    assert event.id.startswith("evt_")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((FileState.UPLOADED, FileState.REJECTED), EventType.FILE_REJECTED),
        ((FileState.EXPIRED,), EventType.FILE_EXPIRED),
        ((FileState.DELETED,), EventType.FILE_DELETED),
    ],
)
async def test_each_final_state_has_its_event_and_intermediate_states_none(
    log: Log, path: tuple[FileState, ...], expected: EventType
) -> None:
    start = await log.events.head()
    await log.move(await log.file(), *path)

    stored = await visible(log.events, ALICE, start, 1)

    assert [s.event.type for s in stored] == [expected]


async def test_follow_is_owner_scoped_and_resumes_after_a_cursor_without_gaps_or_repeats(
    log: Log,
) -> None:
    start = await log.events.head()
    mine = [await log.move(await log.file(), FileState.DELETED) for _ in range(3)]
    await log.move(await log.file(BOB), FileState.DELETED)

    first = await visible(log.events, ALICE, start, 2, limit=2)
    rest = await visible(log.events, ALICE, first[-1].cursor, 1)

    assert [s.event.subject for s in first + rest] == [r.id for r in mine]
    assert await log.events.follow(ALICE, rest[-1].cursor, 10, NO_WAIT) == []
    [bobs] = await visible(log.events, BOB, start, 1)
    assert bobs.event.owner == BOB


async def test_follow_waits_for_an_event_and_wakes_when_it_commits(log: Log) -> None:
    start = await log.events.head()
    record = await log.file()
    signals = signals_for(log.database)
    woken = signals.counts.woken

    waiting = asyncio.create_task(log.events.follow(ALICE, start, 10, timedelta(seconds=30)))
    while signals.waiting(EVENTS) == 0:  # the stream's tail looked, found nothing, and waits
        await asyncio.sleep(0.01)
    await log.move(record, FileState.DELETED)

    [stored] = await asyncio.wait_for(waiting, 30)
    assert stored.event.subject == record.id
    assert signals.counts.woken > woken


async def test_a_malformed_cursor_is_refused(log: Log) -> None:
    for cursor in ["", "12", "a-1", "1-b", "-1-2", "1-2-3"]:
        with pytest.raises(ValueError):
            await log.events.follow(ALICE, cursor, 10, NO_WAIT)


async def test_ending_and_claiming_sessions_record_their_events_once(log: Log) -> None:
    now = log.clock.now()
    for session_id in ("ends", "claimed"):
        await log.sessions.add(GuestSession(session_id, now, now + timedelta(hours=1)))
    guest = GuestSession("ends", now, now).owner.key
    start = await log.events.head()

    await log.sessions.end("ends", SessionEnd.LOGOUT, now)
    await log.sessions.claim("claimed", "user:carol", now)
    await log.sessions.claim("claimed", "user:carol", now)  # repeated: no second event

    [ended] = await visible(log.events, guest, start, 1)
    assert ended.event.type is EventType.SESSION_ENDED
    assert json.loads(ended.event.body)["data"]["end_reason"] == "logout"
    [claimed] = await visible(log.events, "user:carol", start, 1)
    assert claimed.event.type is EventType.SESSION_CLAIMED
    assert json.loads(claimed.event.body)["data"]["session_id"] == "claimed"


async def test_the_relay_claims_each_event_once_until_its_lease_ends(log: Log) -> None:
    records = [await log.move(await log.file(), FileState.DELETED) for _ in range(3)]
    lease = timedelta(seconds=30)

    claimed = await log.events.claim_unrelayed(2, lease)
    others = await log.events.claim_unrelayed(10, lease)

    assert [e.subject for e in claimed + others] == [r.id for r in records]
    assert await log.events.claim_unrelayed(10, lease) == []
    await log.events.mark_relayed([e.id for e in claimed])
    log.clock.advance(lease + timedelta(seconds=1))
    assert [e.subject for e in await log.events.claim_unrelayed(10, lease)] == [records[2].id]


async def test_prune_removes_only_old_relayed_events(log: Log) -> None:
    old = [await log.move(await log.file(), FileState.DELETED) for _ in range(2)]
    [relayed, _] = await log.events.claim_unrelayed(10, timedelta(seconds=30))
    await log.events.mark_relayed([relayed.id])
    log.clock.advance(timedelta(days=8))
    fresh = await log.move(await log.file(), FileState.DELETED)

    assert await log.events.prune(log.clock.now() - timedelta(days=7), 100) == 1
    since = await log.events.since(log.clock.now() - timedelta(days=30), [], 10, None)
    assert [e.subject for e in since] == [old[1].id, fresh.id]


async def test_since_filters_by_type_and_continues_after_an_id(log: Log) -> None:
    deleted = await log.move(await log.file(), FileState.DELETED)
    expired = await log.move(await log.file(), FileState.EXPIRED)
    later = await log.move(await log.file(), FileState.DELETED)
    moment = log.clock.now() - timedelta(minutes=1)

    only_deleted = await log.events.since(moment, [EventType.FILE_DELETED], 10, None)
    assert [e.subject for e in only_deleted] == [deleted.id, later.id]
    [first, *_] = await log.events.since(moment, [], 1, None)
    after = await log.events.since(moment, [], 10, first.id)
    assert [e.subject for e in after] == [expired.id, later.id]


@pytest.mark.postgres
async def test_on_postgres_a_stream_never_passes_an_event_still_being_committed(
    postgres_url: str,
) -> None:
    """T1 writes an event first and commits last: a reader that saw T2's event first would
    have passed T1's position and never see it."""
    database = open_database(postgres_url)
    events = SqlEventLog(database)
    outbox = Outbox(RENDERER, signals_for(database), relay=True)
    engine = create_engine(sync_url(postgres_url))
    try:
        start = await events.head()
        with engine.connect() as first, engine.connect() as second:
            outbox.append(first, [_event("first")])
            outbox.append(second, [_event("second")])
            second.commit()
            assert await events.follow(ALICE, start, 10, NO_WAIT) == []
            first.commit()
        stored = await visible(events, ALICE, start, 2)
        assert [s.event.subject for s in stored] == ["first", "second"]
    finally:
        engine.dispose()
        await signals_for(database).close()
        await database.dispose()


def _event(subject: str, owner: str = ALICE) -> Event:
    return make_event(
        EventType.FILE_DELETED,
        owner=owner,
        subject=subject,
        occurred_at=ManualClock().now(),
        data={"id": subject},
    )


async def test_streams_of_many_owners_share_one_read_per_commit(log: Log) -> None:
    """Each waiting stream used to read the log for itself after a commit that concerned
    it; the process's tail reads once for all of them."""
    owners = [f"user:{name}" for name in ("ann", "ben", "cat", "dan", "eve", "fay")]
    records = [await log.file(owner) for owner in owners]
    start = await log.events.head()
    signals = signals_for(log.database)
    streams = [
        asyncio.create_task(log.events.follow(owner, start, 10, PATIENCE)) for owner in owners
    ]
    while signals.waiting(EVENTS) == 0:  # the tail has looked and waits for a commit
        await asyncio.sleep(0.01)
    reads = log.database.transactions.snapshot()["read"]

    moves = [(r.id, r.state, StateChange(FileState.DELETED, Actor.WORKER)) for r in records]
    await log.files.transition_many(moves)
    found = await asyncio.wait_for(asyncio.gather(*streams), 30)

    assert [[s.event.subject for s in events] for events in found] == [[r.id] for r in records]
    assert log.database.transactions.snapshot()["read"] - reads <= 2  # not one per stream


async def test_a_stream_resumed_from_an_old_cursor_reads_what_the_tail_no_longer_holds(
    log: Log,
) -> None:
    start = await log.events.head()
    early = await log.move(await log.file(), FileState.DELETED)
    live = asyncio.create_task(log.events.follow(BOB, start, 10, PATIENCE))  # starts the tail
    signals = signals_for(log.database)
    while signals.waiting(EVENTS) == 0:
        await asyncio.sleep(0.01)
    later = await log.move(await log.file(), FileState.DELETED)
    await log.move(await log.file(BOB), FileState.DELETED)
    await asyncio.wait_for(live, 30)

    resumed = await visible(log.events, ALICE, start, 2)

    assert [s.event.subject for s in resumed] == [early.id, later.id]


async def test_a_stream_behind_a_tail_that_dropped_its_events_misses_none(log: Log) -> None:
    events = SqlEventLog(log.database, log.clock, tail_capacity=2)
    signals = signals_for(log.database)
    start = await events.head()
    keeper = asyncio.create_task(events.follow(BOB, start, 10, PATIENCE))  # the tail runs
    try:
        while signals.waiting(EVENTS) == 0:
            await asyncio.sleep(0.01)
        mine = [await log.move(await log.file(), FileState.DELETED) for _ in range(5)]

        found = await visible(events, ALICE, start, 5, limit=2)

        assert [s.event.subject for s in found] == [r.id for r in mine]
    finally:
        keeper.cancel()
        await events.close()
