"""Object storage: reading and removing objects, signing the requests that write and read
them, multipart uploads, and the optional capabilities a store may have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from filegate.domain.models import (
    DownloadTerms,
    ListedObject,
    MultipartUpload,
    ObjectInfo,
    PartUrl,
    SignedRequest,
    UploadedPart,
    UploadSpec,
    WrittenObject,
)


class ObjectStore(Protocol):
    """Stored objects, read and removed by the core (writes come through signed URLs)."""

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and ETag of the object, or ``None`` when it does not exist."""
        ...

    def read(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Stream the object's bytes; raises ``FileNotFoundError`` when it does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...

    async def put(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` under ``key``, whole or not at all (server-made objects
        such as renditions; clients never write through this)."""
        ...


class UploadSigner(Protocol):
    """Presigns the one request that may write an object."""

    def sign_upload(self, key: str, spec: UploadSpec, expires_in: timedelta) -> SignedRequest:
        """A PUT bound to key, exact length, content type, SHA-256 (when given) and expiry."""
        ...


class DownloadSigner(Protocol):
    """Presigns reads of a stored object."""

    def sign_download(
        self,
        key: str,
        filename: str,
        content_type: str,
        expires_in: timedelta,
        *,
        inline: bool = False,
    ) -> SignedRequest:
        """A GET that serves the object as ``content_type``, attached as ``filename``
        (``inline``: to be shown in place, as previews are, still naming ``filename``)."""
        ...


class PartReference(Protocol):
    """A part named for completion: its 1-based number and the ETag its upload returned."""

    @property
    def number(self) -> int: ...

    @property
    def etag(self) -> str: ...


class MultipartUploads(Protocol):
    """Optional: a store that takes large objects in parts, each through its own signed URL.

    Keys are the same object keys as elsewhere. Completing writes the object once: an
    existing object is never replaced.
    """

    async def start_multipart(self, key: str, spec: UploadSpec) -> MultipartUpload:
        """Begin an upload of the object ``key`` with ``spec.content_type``."""
        ...

    def sign_parts(
        self,
        upload: MultipartUpload,
        part_numbers: Sequence[int],
        part_size: int,
        expires_in: timedelta,
    ) -> list[PartUrl]:
        """One signed PUT per part number (1..10,000), each bound to exactly ``part_size`` bytes.

        Asking again gives fresh URLs; a part uploaded twice keeps the last bytes.
        """
        ...

    async def list_parts(self, upload: MultipartUpload) -> list[UploadedPart]:
        """The parts stored so far, by number (to resume an interrupted upload)."""
        ...

    async def complete_multipart(
        self, upload: MultipartUpload, parts: Sequence[PartReference]
    ) -> ObjectInfo:
        """Assemble ``parts`` (ascending numbers) into the object and describe it.

        Raises ``FilegateError``: ``UPLOAD_INCOMPLETE`` when a part is missing, its ETag
        differs or a part other than the last is too small; ``ALREADY_UPLOADED`` when the
        object exists; ``NOT_FOUND`` when the upload is unknown (aborted, completed).
        """
        ...

    async def abort_multipart(self, upload: MultipartUpload) -> None:
        """Discard the upload and its parts; aborting an unknown upload is not an error."""
        ...

    async def stale_multipart_uploads(self, older_than: datetime) -> list[MultipartUpload]:
        """Uploads begun before ``older_than`` and never completed (to abort them)."""
        ...


class EventKeys(Protocol):
    """Optional: a store whose notifications name objects by a key of its own (e.g. with
    a prefix), to be mapped back to filegate's key."""

    def key_of_event(self, event_key: str) -> str | None:
        """filegate's key for the object an event names; ``None`` if it is not ours."""
        ...


class LocalPaths(Protocol):
    """Optional: a store whose objects are files on this machine (no copy needed)."""

    def path_of(self, key: str) -> Path:
        """The file holding the object (which may not exist)."""
        ...


class ObjectLister(Protocol):
    """Optional: a store whose objects can be listed (to find objects no file owns)."""

    def list_objects(self, prefix: str | None = None) -> AsyncIterator[ListedObject]:
        """Every object (whose key starts with ``prefix``), in no particular order; the
        store's own bookkeeping files and uploads in progress are not objects.
        """
        ...


class UploadGate(Protocol):
    """What a store that receives uploads itself (the local store) asks the core."""

    async def admit(self, key: str) -> None:
        """Raise ``FilegateError`` unless a file waiting for its bytes owns ``key``."""
        ...

    async def commit(self, key: str, info: ObjectInfo) -> None:
        """Record the written object and emit its event.

        Raises ``FilegateError`` when the file can no longer take it (expired, deleted);
        the store then removes the object, so nothing is left behind.
        """
        ...


class ServedStore(Protocol):
    """Optional: a store that receives uploads and serves downloads itself (the local store),
    through URLs it signed. What its HTTP routes ask of it.
    """

    def verify_upload(self, key: str, query: Iterable[tuple[str, str]]) -> UploadSpec:
        """What a signed PUT URL with this ``query`` may write under ``key``.

        Raises ``FilegateError``: ``SIGNATURE_MISMATCH`` when the signature does not hold
        for PUT on this key or a bound field is missing; ``URL_EXPIRED`` when it has expired.
        """
        ...

    def verify_download(self, key: str, query: Iterable[tuple[str, str]]) -> DownloadTerms:
        """How a signed GET URL with this ``query`` serves ``key``; errors as for uploads."""
        ...

    def time_left(self, expires_at: datetime) -> timedelta:
        """How long until ``expires_at`` by the store's clock (never negative)."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key`` (cheaper than :meth:`head`)."""
        ...

    async def head(self, key: str) -> ObjectInfo | None:
        """Size and ETag of the object, or ``None`` when it does not exist."""
        ...

    async def write_upload(
        self, key: str, body: AsyncIterator[bytes], spec: UploadSpec
    ) -> WrittenObject:
        """Publish ``body`` as the object ``key`` only if it is exactly what ``spec`` declares.

        Raises ``FilegateError``: ``LENGTH_MISMATCH`` (longer or shorter than ``spec.size``),
        ``CHECKSUM_MISMATCH`` (SHA-256 differs from ``spec.sha256``), ``ALREADY_UPLOADED``
        (the key exists). Nothing is published unless all holds.
        """
        ...

    def read_range(
        self, key: str, start: int, stop: int | None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, stop)`` of the object (``stop`` ``None``: to the end)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...
