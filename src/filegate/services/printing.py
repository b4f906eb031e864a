"""Setting a file's target print size, by its owner (its fitness is computed on reading)."""

from __future__ import annotations

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.models import FileRecord, PrintSize
from filegate.domain.ports import Clock, FileRepository
from filegate.domain.printing import check_print_size
from filegate.domain.retention import is_due
from filegate.domain.states import FileState


class PrintService:
    """Owner-scoped print sizes (another owner's file is FILE_NOT_FOUND).

    A size is validated by :func:`~filegate.domain.printing.check_print_size`
    (VALIDATION_ERROR); ``None`` clears it. Like a retention change, it is refused with
    INVALID_STATE for a deleted file or one past its retention deadline. Nothing is decoded:
    the fitness is recomputed from the stored facts whenever the file is read.
    """

    def __init__(self, files: FileRepository, clock: Clock) -> None:
        self._files = files
        self._clock = clock

    async def set(self, owner: str, file_id: str, size: PrintSize | None) -> FileRecord:
        """Store ``size`` as the owner's file's print size; the file as it is afterwards."""
        if size is not None:
            check_print_size(size)
        record = await self._files.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        _check_changeable(record, self._clock)
        stored = await self._files.set_print_size(record.id, size)
        if stored is None:
            raise _deleted()
        return stored


def _check_changeable(record: FileRecord, clock: Clock) -> None:
    if record.state is FileState.DELETED:
        raise _deleted()
    if is_due(record, clock.now()):
        raise FilegateError(
            ErrorCode.INVALID_STATE,
            "The file's retention deadline has passed; it is being deleted.",
        )


def _deleted() -> FilegateError:
    return FilegateError(ErrorCode.INVALID_STATE, "The file is deleted.")
