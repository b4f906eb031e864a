"""Near-duplicates of one of an owner's files, by perceptual hash."""

from __future__ import annotations

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.ports import FileRepository
from filegate.domain.similarity import HASH_BITS, SimilarFile
from filegate.domain.states import FileState

MAX_SIMILAR = 1000
"""Most files one answer lists (the largest page of the list route)."""


class SimilarFiles:
    """The owner's READY files whose perceptual hash is near a given file's.

    Another owner's file, or an unknown one, is FILE_NOT_FOUND; one that is not READY, or
    has no hash (verified before hashes existed), is NOT_READY. One answer lists at most
    ``limit`` files, nearest first, then newest; the file itself is never among them.
    """

    def __init__(self, files: FileRepository) -> None:
        self._files = files

    async def near(
        self, owner: str, file_id: str, max_distance: int, limit: int
    ) -> list[SimilarFile]:
        """Files within ``max_distance`` (0..64) differing bits of the file's hash."""
        if not 0 <= max_distance <= HASH_BITS or not 1 <= limit <= MAX_SIMILAR:
            raise FilegateError(
                ErrorCode.VALIDATION_ERROR,
                f"max_distance must be 0 to {HASH_BITS} and limit 1 to {MAX_SIMILAR}.",
            )
        record = await self._files.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        if record.state is not FileState.READY or record.perceptual_hash is None:
            raise FilegateError(
                ErrorCode.NOT_READY,
                f"The file is {record.state.value} without a perceptual hash to compare; "
                "only ready files with one have similar files.",
                {"state": record.state.value},
            )
        return await self._files.similar_ready(
            owner, record.perceptual_hash, max_distance, limit, exclude_id=record.id
        )
