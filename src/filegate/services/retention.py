"""Setting a file's retention: a deadline (``retain_until``) and/or a pin, by its owner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.models import FileRecord
from filegate.domain.ports import Clock, FileRepository, RetentionRepository
from filegate.domain.retention import (
    KEEP,
    Retention,
    RetentionUpdate,
    check_retention,
    is_due,
)
from filegate.domain.states import FileState

_ATTEMPTS = 5


@dataclass(frozen=True)
class RetentionRequest:
    """One item of a batch: which file, and how its retention changes."""

    file_id: str
    update: RetentionUpdate


class RetentionService:
    """Owner-scoped retention changes (another owner's file is FILE_NOT_FOUND).

    A change is validated against the retention the file ends up with: a deadline must lie
    ahead, and at most ``max_ahead`` ahead unless the file is pinned. A deleted file, or
    one whose deadline has passed (it is due, and its deletion may be under way), answers
    INVALID_STATE. Concurrent changes never lose one another: each is written only over
    the version it was computed from, and recomputed otherwise.
    """

    def __init__(
        self,
        files: FileRepository,
        retention: RetentionRepository,
        clock: Clock,
        max_ahead: timedelta,
    ) -> None:
        self._files = files
        self._retention = retention
        self._clock = clock
        self._max_ahead = max_ahead

    async def update(self, owner: str, file_id: str, update: RetentionUpdate) -> FileRecord:
        """Apply ``update`` to the owner's file; the file as it is afterwards."""
        for _ in range(_ATTEMPTS):
            record = await self._files.get_owned(owner, file_id)
            if record is None:
                raise not_found()
            now = self._clock.now()
            _check_changeable(record, now)
            target = update.applied_to(Retention.of(record))
            if update.retain_until is not KEEP or not target.pinned:
                check_retention(target, now, self._max_ahead)
            stored = await self._retention.set_retention(record.id, record.version, target, now)
            if stored is not None:
                return stored
        raise FilegateError(ErrorCode.INVALID_STATE, "The file keeps changing; retry.")

    async def update_many(
        self, owner: str, requests: Sequence[RetentionRequest]
    ) -> list[FileRecord | FilegateError]:
        """Apply each request on its own; a refused one yields its error in place."""
        results: list[FileRecord | FilegateError] = []
        for request in requests:
            try:
                results.append(await self.update(owner, request.file_id, request.update))
            except FilegateError as error:
                results.append(error)
        return results


def _check_changeable(record: FileRecord, now: datetime) -> None:
    if record.state is FileState.DELETED:
        raise FilegateError(ErrorCode.INVALID_STATE, "The file is deleted.")
    if is_due(record, now):
        raise FilegateError(
            ErrorCode.INVALID_STATE,
            "The file's retention deadline has passed; it is being deleted.",
            {"retain_until": record.retain_until.isoformat() if record.retain_until else None},
        )
