"""``UploadLedger``: record a finished upload and enqueue its event.

``SqlUploadLedger`` does both in one database transaction (queue in the same database);
``SeparateUploadLedger`` does them one after the other (queue elsewhere, e.g. SQS).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.queue_rows import new_message_id
from filegate.adapters.sql.queue_rows import new_message_row as _message_row
from filegate.adapters.sql.queue_signals import signals_for
from filegate.adapters.sql.queue_statements import statements_for
from filegate.adapters.sql.repository import compare_and_set
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.ports import Clock, FileRepository, Queue
from filegate.domain.states import FileState

_UPLOADED = StateChange(FileState.UPLOADED, Actor.STORE)


class SqlUploadLedger:
    """REGISTERED → UPLOADED and the event row in ``queue_messages``, in ONE transaction.

    The message is written in the shape the SQL queue reads: queue ``queue_name``,
    visible now, never received; its receivers are woken as a send to that queue wakes
    them (:mod:`filegate.adapters.sql.queue_signals`). Either both the transition (with its
    history row) and the message are committed, or neither is. ``new_message_id`` exists
    for tests.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        queue_name: str,
        *,
        new_message_id: Callable[[], str] = new_message_id,
    ) -> None:
        self._database = database
        self._clock = clock
        self._queue_name = queue_name
        self._new_message_id = new_message_id
        self._signals = signals_for(database)
        self._statements = statements_for(database)

    async def record_upload(self, file_id: str, event_body: str) -> FileRecord | None:
        work = partial(self._record, file_id=file_id, event_body=event_body)
        updated = await self._database.write(work)
        if updated is not None:
            self._signals.committed(self._queue_name)
        return updated

    def _record(
        self, connection: Connection, *, file_id: str, event_body: str
    ) -> FileRecord | None:
        now = self._clock.now()
        updated = compare_and_set(connection, file_id, FileState.REGISTERED, _UPLOADED, now)
        if updated is None:
            return None
        row = _message_row(self._queue_name, event_body, now, self._new_message_id())
        self._statements.insert(connection, [row])
        self._signals.notify_in(connection, self._queue_name)
        return updated


class SeparateUploadLedger:
    """For a queue that cannot share the database transaction: transition, then send.

    Not atomic. If the send fails the error propagates and the file stays UPLOADED with
    no event; a later reconciler finds UPLOADED files without a pending event and
    re-enqueues them. (Sending first would be worse: an event for a file that may never
    become UPLOADED.) A replayed event is harmless, since consumers are idempotent.
    """

    def __init__(self, repository: FileRepository, queue: Queue) -> None:
        self._repository = repository
        self._queue = queue

    async def record_upload(self, file_id: str, event_body: str) -> FileRecord | None:
        updated = await self._repository.transition(file_id, FileState.REGISTERED, _UPLOADED)
        if updated is None:
            return None
        await self._queue.send_batch([event_body])
        return updated
