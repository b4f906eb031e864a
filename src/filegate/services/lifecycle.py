"""The lifecycle: files past their retention deadline are deleted, through the queue.

The sweep only finds due files and enqueues ``files.delete`` work messages; a worker
handles each message with :class:`RetentionEnforcer`, which checks every file again (it
may have been deleted meanwhile) and deletes it: the object first, then the row becomes
DELETED with reason ``RETENTION_EXPIRED``. A file stays due once due (see
:mod:`filegate.domain.retention`), so a message handled late still deletes the right files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from filegate.domain.messages import encode_files_delete
from filegate.domain.models import Actor, StateChange, TransitionReason
from filegate.domain.ports import Clock, FileRepository, ObjectStore, Queue, RetentionRepository
from filegate.domain.retention import is_due
from filegate.domain.states import FileState
from filegate.services.deletion import delete_file

log = logging.getLogger(__name__)

_EXPIRED = StateChange(
    FileState.DELETED, Actor.LIFECYCLE, reason=TransitionReason.RETENTION_EXPIRED.value
)


@dataclass(frozen=True)
class LifecycleSweep:
    """What one sweep found and enqueued."""

    due: int
    messages: int


@dataclass(frozen=True)
class RetentionDeletion:
    """What handling one ``files.delete`` message did."""

    deleted: int
    skipped: int
    """Ids of files that were gone, already deleted or no longer due."""


class LifecycleSweeper:
    """Finds up to ``batch_size`` due files per sweep and enqueues their deletion,
    ``ids_per_message`` files per message.

    A file still due at the next sweep (its message not handled yet) is enqueued again;
    handling is idempotent, so the duplicate costs one lookup.
    """

    def __init__(
        self,
        retention: RetentionRepository,
        queue: Queue,
        clock: Clock,
        *,
        batch_size: int = 1000,
        ids_per_message: int = 100,
    ) -> None:
        self._retention = retention
        self._queue = queue
        self._clock = clock
        self._batch_size = batch_size
        self._ids_per_message = ids_per_message

    async def sweep(self) -> LifecycleSweep:
        """Enqueue the deletion of one batch of due files."""
        due = await self._retention.retention_due(self._clock.now(), self._batch_size)
        ids = [record.id for record in due]
        step = self._ids_per_message
        bodies = [
            encode_files_delete(ids[start : start + step]) for start in range(0, len(ids), step)
        ]
        if bodies:
            await self._queue.send_batch(bodies)
            log.info("lifecycle sweep", extra={"due": len(ids), "messages": len(bodies)})
        return LifecycleSweep(len(ids), len(bodies))


class RetentionEnforcer:
    """Deletes the files of a ``files.delete`` message that are still due."""

    def __init__(self, repository: FileRepository, store: ObjectStore, clock: Clock) -> None:
        self._repository = repository
        self._store = store
        self._clock = clock

    async def delete_due(self, file_ids: Sequence[str]) -> RetentionDeletion:
        """Delete each file that is due now; skip the others. Idempotent.

        Raises ``BackendUnavailable`` (the message is retried; files already deleted are
        skipped the next time).
        """
        deleted = skipped = 0
        for file_id in file_ids:
            record = await self._repository.get(file_id)
            if record is None or not is_due(record, self._clock.now()):
                skipped += 1
                continue
            if await delete_file(self._repository, self._store, record, _EXPIRED) is None:
                skipped += 1
            else:
                deleted += 1
        if deleted:
            log.info("retention deletions", extra={"deleted": deleted, "skipped": skipped})
        return RetentionDeletion(deleted, skipped)
