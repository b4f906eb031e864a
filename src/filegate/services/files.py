"""Reading, waiting for, downloading and deleting an owner's files."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.models import (
    Actor,
    FileRecord,
    Page,
    SignedRequest,
    StateChange,
    TransitionReason,
)
from filegate.domain.ports import Clock, DownloadSigner, FileRepository, ObjectStore
from filegate.domain.states import FINAL_STATES, FileState
from filegate.services.deletion import delete_file

MAX_PAGE = 1000


class FileService:
    """Owner-scoped access to files: another owner's file is indistinguishable from none."""

    def __init__(
        self,
        repository: FileRepository,
        store: ObjectStore,
        downloads: DownloadSigner,
        clock: Clock,
        download_ttl: timedelta,
        poll_interval: timedelta = timedelta(milliseconds=200),
    ) -> None:
        self._repository = repository
        self._store = store
        self._downloads = downloads
        self._clock = clock
        self._download_ttl = download_ttl
        self._poll_interval = poll_interval

    async def get(self, owner: str, file_id: str) -> FileRecord:
        """The owner's file, or FILE_NOT_FOUND."""
        record = await self._repository.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        return record

    async def wait(self, owner: str, file_id: str, up_to: timedelta) -> FileRecord:
        """The file once it reaches a final state, or as it is when ``up_to`` has passed.

        Polls the repository, so it works across processes behind a load balancer.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + up_to.total_seconds()
        record = await self.get(owner, file_id)
        while record.state not in FINAL_STATES and loop.time() < deadline:
            pause = min(self._poll_interval.total_seconds(), deadline - loop.time())
            await asyncio.sleep(max(pause, 0))
            record = await self.get(owner, file_id)
        return record

    async def list(
        self, owner: str, state: FileState | None, limit: int, cursor: str | None
    ) -> Page:
        """One page of the owner's files, newest first (VALIDATION_ERROR for a bad cursor)."""
        try:
            return await self._repository.list_owned(
                owner, state, max(1, min(limit, MAX_PAGE)), cursor
            )
        except ValueError as exc:
            raise FilegateError(ErrorCode.VALIDATION_ERROR, "The cursor is malformed.") from exc

    async def download(self, owner: str, file_id: str) -> SignedRequest:
        """A presigned GET for a READY file (NOT_READY otherwise)."""
        record = await self.get(owner, file_id)
        if record.state is not FileState.READY:
            raise FilegateError(
                ErrorCode.NOT_READY,
                f"The file is {record.state.value}; only ready files can be downloaded.",
                {"state": record.state.value},
            )
        content_type = record.detected_type or record.declared_type
        return self._downloads.sign_download(
            record.object_key, record.filename, content_type, self._download_ttl
        )

    async def withdraw(self, owner: str, file_id: str) -> None:
        """Delete a file whose bytes have not arrived (an upload grant cancelling its own);
        FORBIDDEN once it was uploaded: from then on only its owner may delete it."""
        record = await self.get(owner, file_id)
        if record.state not in (FileState.REGISTERED, FileState.DELETED):
            raise FilegateError(
                ErrorCode.FORBIDDEN, "An upload link may only cancel a file it has not sent."
            )
        await self.delete(owner, file_id)

    async def delete(self, owner: str, file_id: str) -> None:
        """Delete the object, then mark the row DELETED (idempotent for a deleted file).

        If the file changed meanwhile (an upload landed after the object was removed), the
        object is removed again once the row is DELETED, so no bytes outlive their file.
        """
        record = await self.get(owner, file_id)
        change = StateChange(
            FileState.DELETED, Actor.API, reason=TransitionReason.DELETED_BY_OWNER.value
        )
        await delete_file(self._repository, self._store, record, change)
