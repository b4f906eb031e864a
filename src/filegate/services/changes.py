"""One owner's change of a file (``PATCH /v1/files/{id}``): retention and/or print size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from filegate.domain.errors import FilegateError
from filegate.domain.models import FileRecord, PrintSize
from filegate.domain.retention import RetentionUpdate
from filegate.services.printing import PrintService
from filegate.services.retention import RetentionService


@dataclass(frozen=True)
class PrintChange:
    """Set the print size to ``size``; ``None`` clears it."""

    size: PrintSize | None


@dataclass(frozen=True)
class FileChange:
    """What changes; a part left ``None`` is not touched. At least one part is given."""

    retention: RetentionUpdate | None = None
    print: PrintChange | None = None

    def __post_init__(self) -> None:
        if self.retention is None and self.print is None:
            raise ValueError("a file change needs a retention or a print change")


@dataclass(frozen=True)
class FileChangeRequest:
    """One item of a batch: which file, and how it changes."""

    file_id: str
    change: FileChange


class FileChanges:
    """Applies a change's parts in turn: retention first, then the print size.

    Each part is checked and written on its own (:class:`RetentionService`,
    :class:`PrintService`). A refused retention change writes nothing; the print part can
    only be refused after the retention part was written if the file was deleted in
    between, and then the answer is that INVALID_STATE.
    """

    def __init__(self, retention: RetentionService, printing: PrintService) -> None:
        self._retention = retention
        self._printing = printing

    async def apply(self, owner: str, file_id: str, change: FileChange) -> FileRecord:
        """Apply ``change`` to the owner's file; the file as it is afterwards."""
        record: FileRecord | None = None
        if change.retention is not None:
            record = await self._retention.update(owner, file_id, change.retention)
        if change.print is not None:
            record = await self._printing.set(owner, file_id, change.print.size)
        assert record is not None  # FileChange holds at least one part
        return record

    async def apply_many(
        self, owner: str, requests: Sequence[FileChangeRequest]
    ) -> list[FileRecord | FilegateError]:
        """Apply each request on its own; a refused one yields its error in place."""
        results: list[FileRecord | FilegateError] = []
        for request in requests:
            try:
                results.append(await self.apply(owner, request.file_id, request.change))
            except FilegateError as error:
                results.append(error)
        return results
