"""Signed links to a file's renditions (its thumbnail and preview), for showing in place."""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.models import FileRecord, Rendition, RenditionName, SignedRequest
from filegate.domain.ports import DownloadSigner, FileRepository
from filegate.domain.renditions import rendition_key
from filegate.domain.states import FileState

_EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg"}


class PreviewService:
    """Owner-scoped rendition links: another owner's file is indistinguishable from none."""

    def __init__(
        self, repository: FileRepository, downloads: DownloadSigner, link_ttl: timedelta
    ) -> None:
        self._repository = repository
        self._downloads = downloads
        self._link_ttl = link_ttl

    async def sign(self, owner: str, file_id: str, name: RenditionName) -> SignedRequest:
        """A short-lived GET of the rendition ``name``, served inline as its own type.

        Raises ``FilegateError``: ``FILE_NOT_FOUND`` (not the owner's), ``NOT_READY``
        (not READY), ``NO_RENDITION`` (READY without that rendition: renditions were off,
        the file is not one they are made for, or it was verified before they existed).
        """
        record = await self._repository.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        if record.state is not FileState.READY:
            raise FilegateError(
                ErrorCode.NOT_READY,
                f"The file is {record.state.value}; only ready files have previews.",
                {"state": record.state.value},
            )
        rendition = _rendition(record, name)
        return self._downloads.sign_download(
            rendition_key(record.object_key, name),
            preview_filename(record.filename, rendition),
            rendition.content_type,
            self._link_ttl,
            inline=True,
        )


def _rendition(record: FileRecord, name: RenditionName) -> Rendition:
    for rendition in record.renditions:
        if rendition.name is name:
            return rendition
    raise FilegateError(
        ErrorCode.NO_RENDITION, f"The file has no {name.value} rendition.", {"size": name.value}
    )


def preview_filename(original: str, rendition: Rendition) -> str:
    """``photo.jpg`` → ``photo.thumb.webp``: the original's stem, the rendition, its type."""
    stem = PurePosixPath(original).stem or "image"
    extension = _EXTENSIONS.get(rendition.content_type, "img")
    return f"{stem}.{rendition.name.value}.{extension}"
