"""Examining one uploaded object: size, checksum, type from the bytes, and a full decode.

An accepted image's renditions (made by the inspector in the same decode) are stored with
``ObjectStore.put`` under :func:`~filegate.domain.renditions.rendition_key` while the verdict
is reached, so a READY file's renditions exist once its verdict is applied; whoever cannot
apply a verdict deletes them again with :meth:`Examiner.discard_renditions`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from filegate.domain.models import (
    Actor,
    FileRecord,
    Inspection,
    RejectionReason,
    Rendition,
    RenditionFile,
    StateChange,
)
from filegate.domain.ports import ImageInspector, LocalPaths, ObjectStore
from filegate.domain.renditions import rendition_key
from filegate.domain.states import FileState

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20
_EQUIVALENT_TYPES = {"image/heif": "image/heic"}


@dataclass(frozen=True)
class Verdict:
    """What examination decided for one file."""

    change: StateChange

    @property
    def ready(self) -> bool:
        return self.change.target is FileState.READY


class Examiner:
    """Reaches the verdict on a file's stored object; touches no file row.

    Store and inspector failures propagate (``BackendUnavailable``): they never reject a file.
    """

    def __init__(
        self,
        store: ObjectStore,
        inspector: ImageInspector,
        local_paths: LocalPaths | None = None,
        scratch_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._inspector = inspector
        self._local_paths = local_paths
        self._scratch_dir = scratch_dir

    async def examine(self, record: FileRecord) -> Verdict | None:
        """The verdict for ``record``'s object, or ``None`` when the object is missing.

        A READY verdict's renditions are already stored (a caller that cannot apply the
        verdict deletes them with :meth:`discard_renditions`); other verdicts store none,
        and a failure leaves none stored.
        """
        info = await self._store.head(record.object_key)
        if info is None:
            log.warning("upload event for a missing object", extra={"file_id": record.id})
            return None
        if info.size == 0:
            return _rejected(RejectionReason.EMPTY_FILE)
        if info.size != record.declared_size:
            return _rejected(RejectionReason.SIZE_MISMATCH)
        async with self._scratch("renditions-") as folder:
            async with self._local_copy(record.object_key) as (path, sha256):
                if record.declared_sha256 and sha256 != record.declared_sha256:
                    return _rejected(RejectionReason.CHECKSUM_MISMATCH, sha256=sha256)
                inspection = await self._inspector.inspect(path, folder)
            verdict = _judged(record, inspection, sha256)
            if verdict.ready and inspection.renditions:
                stored = await self._store_renditions(record, inspection.renditions)
                verdict = Verdict(dataclasses.replace(verdict.change, renditions=stored))
        return verdict

    async def discard_renditions(self, record: FileRecord, renditions: Sequence[Rendition]) -> None:
        """Delete stored renditions whose verdict was not applied; a failure here is logged
        (the reconciler removes what is left once the grace has passed)."""
        for rendition in renditions:
            try:
                await self._store.delete(rendition_key(record.object_key, rendition.name))
            except Exception:
                log.warning(
                    "could not delete an unused rendition",
                    extra={"file_id": record.id, "rendition": rendition.name.value},
                    exc_info=True,
                )

    @asynccontextmanager
    async def _scratch(self, prefix: str) -> AsyncIterator[Path]:
        """A fresh directory under the scratch dir, removed afterwards with its contents.

        Made and removed on a thread: a ``mkdir`` or ``rmdir`` can take milliseconds, and
        on the embedded shape the event loop also serves uploads.
        """
        made = await asyncio.to_thread(tempfile.mkdtemp, prefix=prefix, dir=self._scratch_dir)
        try:
            yield Path(made)
        finally:
            await asyncio.to_thread(shutil.rmtree, made, ignore_errors=True)

    async def _store_renditions(
        self, record: FileRecord, files: Sequence[RenditionFile]
    ) -> tuple[Rendition, ...]:
        """Put every rendition next to the original; on any failure none is left stored."""
        stored: list[Rendition] = []
        try:
            for item in files:
                key = rendition_key(record.object_key, item.rendition.name)
                await self._store.put(key, Path(item.path), item.rendition.content_type)
                stored.append(item.rendition)
        except BaseException:
            await self.discard_renditions(record, [f.rendition for f in files])
            raise
        return tuple(stored)

    @asynccontextmanager
    async def _local_copy(self, key: str) -> AsyncIterator[tuple[Path, str]]:
        """A path holding the object's bytes, and their SHA-256."""
        if self._local_paths is not None:
            path = self._local_paths.path_of(key)
            yield path, await asyncio.to_thread(_sha256_of, path)
            return
        async with self._scratch("verify-") as folder:
            path = folder / "object"
            yield path, await self._download(key, path)

    async def _download(self, key: str, path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("wb") as out:
            async for chunk in self._store.read(key):
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
        return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _judged(record: FileRecord, inspection: Inspection, sha256: str) -> Verdict:
    if inspection.reason is not None:
        return _rejected(inspection.reason, sha256=sha256)
    detected = inspection.content_type or ""
    if _canonical(detected) != _canonical(record.declared_type):
        return _rejected(RejectionReason.TYPE_MISMATCH, sha256=sha256, detected=detected)
    change = StateChange(
        target=FileState.READY,
        actor=Actor.WORKER,
        detected_type=detected,
        sha256=sha256,
        image=inspection.image,
        placeholder=inspection.placeholder,
        perceptual_hash=inspection.perceptual_hash,
    )
    return Verdict(change)


def _rejected(
    reason: RejectionReason, sha256: str | None = None, detected: str | None = None
) -> Verdict:
    change = StateChange(
        target=FileState.REJECTED,
        actor=Actor.WORKER,
        reason=reason.value,
        sha256=sha256,
        detected_type=detected,
    )
    return Verdict(change)


def _canonical(content_type: str) -> str:
    return _EQUIVALENT_TYPES.get(content_type, content_type)
