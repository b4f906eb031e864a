"""``UploadLedger``: record a finished upload and enqueue its event.

``SqlUploadLedger`` does both in one database transaction (queue in the same database);
``SeparateUploadLedger`` does them one after the other (queue elsewhere, e.g. SQS).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.sql.errors import translate_errors
from filegate.adapters.sql.repository import compare_and_set
from filegate.adapters.sql.schema import queue_messages
from filegate.domain.models import Actor, FileRecord, StateChange
from filegate.domain.ports import Clock, FileRepository, Queue
from filegate.domain.states import FileState

_UPLOADED = StateChange(FileState.UPLOADED, Actor.STORE)


def _new_message_id() -> str:
    return uuid.uuid4().hex


class SqlUploadLedger:
    """REGISTERED → UPLOADED and the event row in ``queue_messages``, in ONE transaction.

    The message is written in the shape the SQL queue reads: queue ``queue_name``,
    visible now, never received. Either both the transition (with its history row) and
    the message are committed, or neither is. ``new_message_id`` exists for tests.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        queue_name: str,
        *,
        new_message_id: Callable[[], str] = _new_message_id,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._queue_name = queue_name
        self._new_message_id = new_message_id

    async def record_upload(self, file_id: str, event_body: str) -> FileRecord | None:
        now = self._clock.now()
        async with translate_errors(), self._engine.begin() as connection:
            updated = await compare_and_set(
                connection, file_id, FileState.REGISTERED, _UPLOADED, now
            )
            if updated is None:
                return None
            await connection.execute(
                insert(queue_messages).values(
                    id=self._new_message_id(),
                    queue=self._queue_name,
                    body=event_body,
                    sent_at=now,
                    visible_at=now,
                    receipt=None,
                    receive_count=0,
                )
            )
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
