"""Expiring registrations whose upload window has passed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from filegate.domain.models import Actor, FileRecord, StateChange, TransitionReason
from filegate.domain.ports import Clock, FileRepository, ObjectStore
from filegate.domain.states import FileState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    expired: int
    skipped_with_object: int


class ExpirySweeper:
    """Moves REGISTERED files past their deadline (plus grace) to EXPIRED.

    A file whose object exists after all (a late or lost event) is left for the upload
    path to pick up rather than expired with bytes behind it.
    """

    def __init__(
        self,
        repository: FileRepository,
        store: ObjectStore,
        clock: Clock,
        grace: timedelta,
        batch_size: int = 500,
    ) -> None:
        self._repository = repository
        self._store = store
        self._clock = clock
        self._grace = grace
        self._batch_size = batch_size

    async def sweep(self) -> SweepResult:
        """Expire one batch of overdue registrations."""
        due = await self._repository.registered_before(
            self._clock.now() - self._grace, self._batch_size
        )
        expired = skipped = 0
        for record in due:
            if await self._store.head(record.object_key) is not None:
                skipped += 1
                continue
            expired += await self._expire(record)
        if expired or skipped:
            log.info("expiry sweep", extra={"expired": expired, "skipped": skipped})
        return SweepResult(expired, skipped)

    async def _expire(self, record: FileRecord) -> int:
        change = StateChange(
            FileState.EXPIRED, Actor.SWEEPER, reason=TransitionReason.UPLOAD_EXPIRED.value
        )
        updated = await self._repository.transition(record.id, FileState.REGISTERED, change)
        return 0 if updated is None else 1
