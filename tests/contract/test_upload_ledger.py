"""Both ``UploadLedger`` implementations: the upload and its event go together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.exc import IntegrityError

from filegate.adapters.memory import MemoryQueue, MemoryRepository
from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.schema import UTCDateTime, queue_messages
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger, SqlUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.states import FileState
from tests.support.records import make_record

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
QUEUE = "uploads"
EVENT = '{"v": 1, "key": "k", "size": 1024, "etag": "e"}'
EXPIRE = StateChange(FileState.EXPIRED, Actor.SWEEPER)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=SQL_BACKENDS)
async def database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def repository(database: Database, clock: ManualClock) -> SqlRepository:
    return SqlRepository(database, clock)


async def queued(database: Database) -> list[dict[str, Any]]:
    """Every row of ``queue_messages``, read with plain SQL."""
    query = text(
        "SELECT id, queue, body, sent_at, visible_at, receipt, receive_count, dead_reason"
        " FROM queue_messages ORDER BY sent_at, id"
    ).columns(sent_at=UTCDateTime, visible_at=UTCDateTime)

    def rows(connection: Connection) -> list[dict[str, Any]]:
        return [dict(row._mapping) for row in connection.execute(query)]

    return await database.read(rows)


async def registered(repository: SqlRepository | MemoryRepository) -> FileRecord:
    return await repository.add(make_record())


# --- SqlUploadLedger -------------------------------------------------------------------


async def test_sql_ledger_marks_uploaded_and_enqueues_the_event(
    database: Database, repository: SqlRepository, clock: ManualClock
) -> None:
    record = await registered(repository)
    clock.advance(timedelta(seconds=10))
    updated = await SqlUploadLedger(database, clock, QUEUE).record_upload(record.id, EVENT)
    assert updated is not None
    assert (updated.state, updated.version) == (FileState.UPLOADED, 2)
    assert await repository.get(record.id) == updated
    last = (await repository.history(record.id))[-1]
    assert (last.from_state, last.to_state, last.actor) == (
        FileState.REGISTERED,
        FileState.UPLOADED,
        "store",
    )
    [message] = await queued(database)
    assert len(message.pop("id")) == 32
    assert message == {
        "queue": QUEUE,
        "body": EVENT,
        "sent_at": clock.now(),
        "visible_at": clock.now(),
        "receipt": None,
        "receive_count": 0,
        "dead_reason": None,
    }


async def test_sql_ledger_replay_is_a_no_op(
    database: Database, repository: SqlRepository, clock: ManualClock
) -> None:
    record = await registered(repository)
    ledger = SqlUploadLedger(database, clock, QUEUE)
    first = await ledger.record_upload(record.id, EVENT)
    assert await ledger.record_upload(record.id, EVENT) is None
    assert await repository.get(record.id) == first
    assert len(await queued(database)) == 1


async def test_sql_ledger_ignores_files_not_registered(
    database: Database, repository: SqlRepository, clock: ManualClock
) -> None:
    record = await registered(repository)
    expired = await repository.transition(record.id, FileState.REGISTERED, EXPIRE)
    ledger = SqlUploadLedger(database, clock, QUEUE)
    assert await ledger.record_upload(record.id, EVENT) is None
    assert await ledger.record_upload("no-such-id", EVENT) is None
    assert await repository.get(record.id) == expired
    assert await queued(database) == []


async def test_sql_ledger_writes_nothing_when_the_enqueue_fails(
    database: Database, repository: SqlRepository, clock: ManualClock
) -> None:
    record = await registered(repository)
    taken = insert(queue_messages).values(
        id="taken", queue=QUEUE, body="x", sent_at=clock.now(), visible_at=clock.now()
    )
    await database.write(lambda connection: connection.execute(taken))
    ledger = SqlUploadLedger(database, clock, QUEUE, new_message_id=lambda: "taken")
    with pytest.raises(IntegrityError):
        await ledger.record_upload(record.id, EVENT)
    assert await repository.get(record.id) == record
    assert len(await repository.history(record.id)) == 1
    assert [m["body"] for m in await queued(database)] == ["x"]


# --- SeparateUploadLedger --------------------------------------------------------------


class UnreachableQueue(MemoryQueue):
    """A queue whose sends fail, as SQS does when it cannot be reached."""

    async def send_batch(self, bodies: Sequence[str]) -> None:
        raise BackendUnavailable("queue down")


async def test_separate_ledger_marks_uploaded_then_sends(clock: ManualClock) -> None:
    repository, queue = MemoryRepository(clock), MemoryQueue(clock=clock)
    record = await registered(repository)
    updated = await SeparateUploadLedger(repository, queue).record_upload(record.id, EVENT)
    assert updated is not None
    assert updated.state is FileState.UPLOADED
    assert (await repository.history(record.id))[-1].actor == "store"
    messages = await queue.receive(10, timedelta(seconds=30), timedelta(0))
    assert [m.body for m in messages] == [EVENT]


async def test_separate_ledger_ignores_files_not_registered(clock: ManualClock) -> None:
    repository, queue = MemoryRepository(clock), MemoryQueue(clock=clock)
    record = await registered(repository)
    await repository.transition(record.id, FileState.REGISTERED, EXPIRE)
    ledger = SeparateUploadLedger(repository, queue)
    assert await ledger.record_upload(record.id, EVENT) is None
    assert await ledger.record_upload("no-such-id", EVENT) is None
    assert (await queue.depth()).visible == 0


async def test_separate_ledger_leaves_the_file_uploaded_when_the_send_fails(
    clock: ManualClock,
) -> None:
    repository = MemoryRepository(clock)
    record = await registered(repository)
    with pytest.raises(BackendUnavailable):
        await SeparateUploadLedger(repository, UnreachableQueue()).record_upload(record.id, EVENT)
    stored = await repository.get(record.id)
    assert stored is not None
    assert stored.state is FileState.UPLOADED  # the reconciler re-enqueues it later
