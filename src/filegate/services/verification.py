"""Verifying uploaded objects: size, checksum, type from the bytes, and a full decode.

An accepted image's renditions (made by the inspector in the same decode) are stored with
``ObjectStore.put`` under :func:`~filegate.domain.renditions.rendition_key` *before* the
READY transition, so a READY file's renditions exist; when the transition loses, or
anything fails after they were stored, they are deleted again, so none is orphaned.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import (
    Actor,
    FileRecord,
    Inspection,
    ObjectCreated,
    RejectionReason,
    Rendition,
    RenditionFile,
    StateChange,
)
from filegate.domain.ports import (
    EventKeys,
    FileRepository,
    ImageInspector,
    LocalPaths,
    ObjectStore,
)
from filegate.domain.renditions import rendition_key
from filegate.domain.sequencer import is_stale
from filegate.domain.states import AWAITING_VERIFICATION, FileState

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20
_EQUIVALENT_TYPES = {"image/heif": "image/heic"}


@dataclass(frozen=True)
class Verdict:
    """What verification decided for one file."""

    change: StateChange

    @property
    def ready(self) -> bool:
        return self.change.target is FileState.READY


class Verifier:
    """Handles upload events: one compare-and-set per file, replayed events are no-ops.

    Infrastructure errors propagate (``BackendUnavailable``) so the message is retried;
    they never reject a file.
    """

    def __init__(
        self,
        repository: FileRepository,
        store: ObjectStore,
        inspector: ImageInspector,
        local_paths: LocalPaths | None = None,
        scratch_dir: Path | None = None,
        event_keys: EventKeys | None = None,
        *,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._repository = repository
        self._store = store
        self._inspector = inspector
        self._local_paths = local_paths
        self._scratch_dir = scratch_dir
        self._event_keys = event_keys
        self._metrics = metrics

    async def handle(self, event: ObjectCreated) -> None:
        """Verify the file stored under ``event.key`` unless it is unknown or already final."""
        key = self._event_keys.key_of_event(event.key) if self._event_keys else event.key
        record = await self._repository.get_by_key(key) if key else None
        if record is None or record.state not in AWAITING_VERIFICATION:
            log.info("event without a waiting file", extra={"key": event.key})
            return
        if is_stale(event.sequencer, record.last_sequencer):
            log.info("stale event dropped", extra={"key": event.key})
            return
        started = time.perf_counter()
        verdict = await self.verify(record)
        if verdict is None:
            return
        seconds = time.perf_counter() - started
        change = dataclasses.replace(verdict.change, sequencer=event.sequencer)
        try:
            updated = await self._repository.transition(record.id, record.state, change)
        except BaseException:
            await self._discard_renditions(record, change.renditions)
            raise
        if updated is None:
            log.info("file changed during verification", extra={"file_id": record.id})
            await self._discard_renditions(record, change.renditions)
            return
        self._report(updated, change, seconds)

    def _report(self, updated: FileRecord, change: StateChange, seconds: float) -> None:
        """Log and count an applied verdict; a READY file reports its time since registration."""
        outcome = change.target.value
        log.info(
            "file %s",
            outcome,
            extra={
                "file_id": updated.id,
                "outcome": outcome,
                "reason": change.reason,
                "duration_ms": round(seconds * 1000, 3),
            },
        )
        self._metrics.verified(outcome, change.reason, seconds)
        if updated.state is FileState.READY:
            self._metrics.time_to_ready((updated.updated_at - updated.created_at).total_seconds())

    async def verify(self, record: FileRecord) -> Verdict | None:
        """The verdict for ``record``'s object, or ``None`` when the object is missing.

        A READY verdict's renditions are already stored (the caller deletes them with
        :meth:`_discard_renditions` if it cannot apply the verdict); other verdicts store none.
        """
        info = await self._store.head(record.object_key)
        if info is None:
            log.warning("upload event for a missing object", extra={"file_id": record.id})
            return None
        if info.size == 0:
            return _rejected(RejectionReason.EMPTY_FILE)
        if info.size != record.declared_size:
            return _rejected(RejectionReason.SIZE_MISMATCH)
        with self._renditions_dir() as folder:
            async with self._local_copy(record.object_key) as (path, sha256):
                if record.declared_sha256 and sha256 != record.declared_sha256:
                    return _rejected(RejectionReason.CHECKSUM_MISMATCH, sha256=sha256)
                inspection = await self._inspector.inspect(path, folder)
            verdict = _judged(record, inspection, sha256)
            if verdict.ready and inspection.renditions:
                stored = await self._store_renditions(record, inspection.renditions)
                verdict = Verdict(dataclasses.replace(verdict.change, renditions=stored))
        return verdict

    @contextmanager
    def _renditions_dir(self) -> Iterator[Path]:
        """A fresh directory (under the scratch dir) the inspector writes renditions into."""
        with tempfile.TemporaryDirectory(dir=self._scratch_dir, prefix="renditions-") as folder:
            yield Path(folder)

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
            await self._discard_renditions(record, [f.rendition for f in files])
            raise
        return tuple(stored)

    async def _discard_renditions(
        self, record: FileRecord, renditions: Sequence[Rendition]
    ) -> None:
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
    async def _local_copy(self, key: str) -> AsyncIterator[tuple[Path, str]]:
        """A path holding the object's bytes, and their SHA-256."""
        if self._local_paths is not None:
            path = self._local_paths.path_of(key)
            yield path, await asyncio.to_thread(_sha256_of, path)
            return
        with tempfile.TemporaryDirectory(dir=self._scratch_dir, prefix="verify-") as folder:
            path = Path(folder) / "object"
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
