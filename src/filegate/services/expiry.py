"""Expiring registrations whose upload window has passed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from filegate.domain.models import Actor, FileRecord, StateChange, TransitionReason
from filegate.domain.ports import Clock, FileRepository, ObjectStore
from filegate.domain.states import FileState
from filegate.services.uploads import UploadRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    expired: int
    recovered: int
    """Overdue files whose object was there after all: recorded as uploaded instead."""


class ExpirySweeper:
    """Moves REGISTERED files past their deadline (plus grace) to EXPIRED.

    A file whose object exists after all (a late or lost event) is recorded as uploaded,
    and so verified, rather than expired with bytes behind it.
    """

    def __init__(
        self,
        repository: FileRepository,
        store: ObjectStore,
        uploads: UploadRecorder,
        clock: Clock,
        grace: timedelta,
        batch_size: int = 500,
    ) -> None:
        self._repository = repository
        self._store = store
        self._uploads = uploads
        self._clock = clock
        self._grace = grace
        self._batch_size = batch_size

    async def sweep(self) -> SweepResult:
        """Expire one batch of overdue registrations."""
        due = await self._repository.registered_before(
            self._clock.now() - self._grace, self._batch_size
        )
        expired = recovered = 0
        for record in due:
            info = await self._store.head(record.object_key)
            if info is not None:
                await self._uploads.recover(record, info)
                recovered += 1
                continue
            expired += await self._expire(record)
        if expired or recovered:
            log.info("expiry sweep", extra={"expired": expired, "recovered": recovered})
        return SweepResult(expired, recovered)

    async def _expire(self, record: FileRecord) -> int:
        change = StateChange(
            FileState.EXPIRED, Actor.SWEEPER, reason=TransitionReason.UPLOAD_EXPIRED.value
        )
        updated = await self._repository.transition(record.id, FileState.REGISTERED, change)
        return 0 if updated is None else 1
