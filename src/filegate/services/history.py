"""A file's audit history: every transition, oldest first, for its owner only."""

from __future__ import annotations

from filegate.domain.errors import not_found
from filegate.domain.models import Transition
from filegate.domain.ports import FileRepository


class FileHistory:
    """Owner-scoped reads of the append-only history (another owner's file: FILE_NOT_FOUND)."""

    def __init__(self, repository: FileRepository) -> None:
        self._repository = repository

    async def of(self, owner: str, file_id: str) -> list[Transition]:
        """The transitions of the owner's file, oldest first."""
        if await self._repository.get_owned(owner, file_id) is None:
            raise not_found()
        return await self._repository.history(file_id)
