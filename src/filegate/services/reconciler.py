"""The reconciler: finds where the database and the object store disagree, and repairs it.

Each run, in order (every action counted in :class:`ReconcileResult`):

1. **lost events** — a REGISTERED file unchanged for ``lost_event_after`` whose object
   exists: recorded as uploaded and enqueued for verification (``UploadRecorder.recover``).
2. **stuck uploads** — an UPLOADED file unchanged for ``stuck_after``: its upload event is
   enqueued again (verification is idempotent, so a duplicate costs nothing).
3. **missing objects** — a READY (or stuck UPLOADED) file whose object is gone: logged and
   moved to DELETED with reason ``OBJECT_MISSING``, since it can never be served again.
   A READY file whose object is there but which lists a rendition whose object is gone is
   logged and counted (``renditions_missing``) and otherwise left as it is: the original
   is intact, only that preview answers from the store with a 404.
4. **orphans** — with a store that can list (:class:`ObjectLister`): an object older than
   ``orphan_grace`` that no live file owns (no row, or a DELETED or EXPIRED one) is
   deleted. Only keys of filegate's own shape are considered, never anything else stored
   under the same prefix. A rendition (``{original}.thumb`` / ``.preview``) belongs to its
   original's file: it is an orphan when that file is gone or was REJECTED (a rejected
   file has no renditions), and kept while the file is waiting or READY.
5. **stale multipart uploads** — with a store that has them: uploads begun before
   ``orphan_grace`` whose file no longer waits for them are aborted.
6. **usage** — owners' usage counters are recounted from their files (repairs drift).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TypeVar

from filegate.domain.messages import encode_object_created
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import (
    Actor,
    FileRecord,
    ListedObject,
    ObjectCreated,
    ObjectInfo,
    RenditionName,
    StateChange,
    TransitionReason,
)
from filegate.domain.ports import (
    Clock,
    FileRepository,
    MultipartUploads,
    ObjectLister,
    ObjectStore,
    Queue,
    ReconcileQueries,
    UsageLedger,
)
from filegate.domain.renditions import rendition_key
from filegate.domain.states import FileState
from filegate.services.deletion import delete_file
from filegate.services.uploads import UploadRecorder

log = logging.getLogger(__name__)

FILEGATE_KEY = re.compile(r"[0-9a-f]{16}/[0-9a-f]{32}")
"""The shape of every original's key filegate makes (``{owner-hash}/{file-id}``)."""
RENDITION_KEY = re.compile(
    rf"(?P<original>{FILEGATE_KEY.pattern})\.(?:{'|'.join(n.value for n in RenditionName)})"
)
"""The shape of a rendition's key: its original's key and ``.thumb`` or ``.preview``."""

_GONE = frozenset({FileState.DELETED, FileState.EXPIRED})
_NO_RENDITIONS = _GONE | {FileState.REJECTED}
_MISSING = StateChange(
    FileState.DELETED, Actor.RECONCILER, reason=TransitionReason.OBJECT_MISSING.value
)
T = TypeVar("T")


@dataclass(frozen=True)
class ReconcilePolicy:
    """Thresholds of a run; ``ready_checks_per_run`` 0 checks every READY file each run."""

    lost_event_after: timedelta
    stuck_after: timedelta
    orphan_grace: timedelta
    ready_checks_per_run: int = 0
    page_size: int = 500
    concurrency: int = 8


@dataclass(frozen=True)
class ReconcileResult:
    """How many of each action one run took, and how much it looked at."""

    lost_events_recovered: int = 0
    stuck_uploads_requeued: int = 0
    missing_objects: int = 0
    orphans_deleted: int = 0
    multipart_aborted: int = 0
    usage_corrected: int = 0
    renditions_missing: int = 0
    files_checked: int = 0
    objects_listed: int = 0

    def counts(self) -> dict[str, int]:
        """Every counter by name, in a stable order (for tables and logs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def actions(self) -> dict[str, int]:
        """The repairs only (what was looked at left out)."""
        looked_at = {"files_checked", "objects_listed"}
        return {name: n for name, n in self.counts().items() if name not in looked_at}


class Reconciler:
    """One :meth:`run` repairs what it finds; see the module docstring for the rules."""

    def __init__(
        self,
        repository: FileRepository,
        *,
        queries: ReconcileQueries,
        usage: UsageLedger,
        store: ObjectStore,
        uploads: UploadRecorder,
        queue: Queue,
        clock: Clock,
        policy: ReconcilePolicy,
        lister: ObjectLister | None = None,
        multipart: MultipartUploads | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._repository = repository
        self._queries = queries
        self._usage = usage
        self._store = store
        self._uploads = uploads
        self._queue = queue
        self._clock = clock
        self._policy = policy
        self._lister = lister
        self._multipart = multipart
        self._metrics = metrics
        self._ready_cursor: str | None = None

    async def run(self) -> ReconcileResult:
        """One full pass; raises ``BackendUnavailable`` if a backend fails midway."""
        now = self._clock.now()
        recovered, registered = await self._recover_lost_events(now)
        requeued, stuck_missing, uploaded = await self._requeue_stuck(now)
        ready_missing, renditions_missing, ready = await self._check_ready(now)
        orphans, listed = await self._delete_orphans(now)
        result = ReconcileResult(
            lost_events_recovered=recovered,
            stuck_uploads_requeued=requeued,
            missing_objects=stuck_missing + ready_missing,
            orphans_deleted=orphans,
            multipart_aborted=await self._abort_stale_multipart(now),
            usage_corrected=await self._usage.recount_usage(),
            renditions_missing=renditions_missing,
            files_checked=registered + uploaded + ready,
            objects_listed=listed,
        )
        log.info("reconciled", extra=result.counts())
        for action, count in result.actions().items():
            self._metrics.reconciled(action, count)
        return result

    async def _recover_lost_events(self, now: datetime) -> tuple[int, int]:
        recovered = checked = 0
        before = now - self._policy.lost_event_after
        async for page in self._pages(FileState.REGISTERED, before):
            checked += len(page)
            for record, info in zip(page, await self._heads(page), strict=True):
                if info is not None:
                    updated = await self._uploads.recover(record, info)
                    recovered += int(updated.state is FileState.UPLOADED)
        return recovered, checked

    async def _requeue_stuck(self, now: datetime) -> tuple[int, int, int]:
        missing = checked = 0
        bodies: list[str] = []
        async for page in self._pages(FileState.UPLOADED, now - self._policy.stuck_after):
            checked += len(page)
            for record, info in zip(page, await self._heads(page), strict=True):
                if info is None:
                    missing += await self._mark_missing(record)
                else:
                    event = ObjectCreated(record.object_key, info.size, info.etag)
                    bodies.append(encode_object_created(event))
        if bodies:
            await self._queue.send_batch(bodies)
        return len(bodies), missing, checked

    async def _check_ready(self, now: datetime) -> tuple[int, int, int]:
        missing = renditions_missing = checked = 0
        budget = self._policy.ready_checks_per_run or None
        async for page in self._pages(FileState.READY, now, after=self._ready_cursor):
            page = page if budget is None else page[: budget - checked]
            checked += len(page)
            present: list[FileRecord] = []
            for record, info in zip(page, await self._heads(page), strict=True):
                if info is None:
                    missing += await self._mark_missing(record)
                else:
                    present.append(record)
            renditions_missing += await self._count_missing_renditions(present)
            self._ready_cursor = page[-1].id if page else None
            if budget is not None and checked >= budget:
                return missing, renditions_missing, checked
        self._ready_cursor = None  # a full round: start from the beginning next time
        return missing, renditions_missing, checked

    async def _count_missing_renditions(self, records: Sequence[FileRecord]) -> int:
        """Log each rendition a READY file lists whose object is gone; how many."""
        listed = [(r, rendition.name) for r in records for rendition in r.renditions]
        heads = await self._bounded(
            [self._store.head(rendition_key(r.object_key, name)) for r, name in listed]
        )
        gone = [(r, name) for (r, name), info in zip(listed, heads, strict=True) if info is None]
        for record, name in gone:
            log.warning(
                "rendition missing for a ready file",
                extra={"file_id": record.id, "rendition": name.value},
            )
        return len(gone)

    async def _mark_missing(self, record: FileRecord) -> int:
        log.warning(
            "object missing for a %s file; marking it deleted",
            record.state.value,
            extra={"file_id": record.id, "object_key": record.object_key},
        )
        deleted = await delete_file(self._repository, self._store, record, _MISSING)
        return int(deleted is not None)

    async def _delete_orphans(self, now: datetime) -> tuple[int, int]:
        if self._lister is None:
            return 0, 0
        deleted = listed = 0
        chunk: list[ListedObject] = []
        async for item in self._lister.list_objects():
            listed += 1
            chunk.append(item)
            if len(chunk) == self._policy.page_size:
                deleted += await self._delete_orphans_in(chunk, now)
                chunk = []
        deleted += await self._delete_orphans_in(chunk, now)
        return deleted, listed

    async def _delete_orphans_in(self, chunk: Sequence[ListedObject], now: datetime) -> int:
        cutoff = now - self._policy.orphan_grace
        old = [o.key for o in chunk if o.last_modified < cutoff]
        originals = [key for key in old if FILEGATE_KEY.fullmatch(key)]
        renditions = {m.string: m["original"] for k in old if (m := RENDITION_KEY.fullmatch(k))}
        if not originals and not renditions:
            return 0
        states = await self._queries.states_by_key([*originals, *set(renditions.values())])
        orphans = [key for key in originals if states.get(key, FileState.DELETED) in _GONE]
        orphans += [
            key
            for key, original in renditions.items()
            if states.get(original, FileState.DELETED) in _NO_RENDITIONS
        ]
        await self._bounded([self._store.delete(key) for key in orphans])
        if orphans:
            log.warning("orphan objects deleted", extra={"count": len(orphans)})
        return len(orphans)

    async def _abort_stale_multipart(self, now: datetime) -> int:
        if self._multipart is None:
            return 0
        aborted = 0
        for upload in await self._multipart.stale_multipart_uploads(
            now - self._policy.orphan_grace
        ):
            record = await self._repository.get_by_key(upload.key)
            waiting = (
                record is not None
                and record.state is FileState.REGISTERED
                and record.upload_expires_at > now
            )
            if not waiting:
                await self._multipart.abort_multipart(upload)
                aborted += 1
        return aborted

    async def _pages(
        self, state: FileState, unchanged_since: datetime, after: str | None = None
    ) -> AsyncIterator[list[FileRecord]]:
        size = self._policy.page_size
        while True:
            page = await self._queries.in_state(state, unchanged_since, after, size)
            if page:
                yield page
            if len(page) < size:
                return
            after = page[-1].id

    async def _heads(self, page: Sequence[FileRecord]) -> list[ObjectInfo | None]:
        return await self._bounded([self._store.head(r.object_key) for r in page])

    async def _bounded(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        slots = asyncio.Semaphore(self._policy.concurrency)

        async def one(call: Awaitable[T]) -> T:
            async with slots:
                return await call

        return list(await asyncio.gather(*(one(call) for call in calls)))
