"""Recording finished uploads: the local store's gate and the client's ``complete`` signal."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from filegate.domain.errors import ErrorCode, FilegateError, not_found
from filegate.domain.messages import encode_object_created
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import FileRecord, ObjectCreated, ObjectInfo
from filegate.domain.ports import Clock, FileRepository, ObjectStore, UploadLedger
from filegate.domain.states import FileState
from filegate.domain.tracing import (
    FILE_ID,
    FILE_UPLOAD_COMMIT,
    NO_TRACING,
    UPLOAD_VIA,
    SpanKind,
    Tracer,
    UploadVia,
)

_ALREADY_SIGNALLED = frozenset({FileState.UPLOADED, FileState.READY, FileState.REJECTED})
MAX_ADMITTED = 10_000
"""Admitted uploads remembered for their commit; beyond this the oldest are forgotten."""


class UploadRecorder:
    """Moves files REGISTERED → UPLOADED and enqueues their verification event.

    It is the local store's ``UploadGate`` and serves ``POST /v1/files/{id}/complete``.
    The gate still takes a file's bytes up to ``grace`` past its upload deadline. Each
    recorded upload is a ``file.upload_commit`` span in the file's trace, whose context the
    event carries to the worker.
    """

    def __init__(
        self,
        repository: FileRepository,
        store: ObjectStore,
        ledger: UploadLedger,
        clock: Clock,
        *,
        grace: timedelta,
        metrics: Metrics = NO_METRICS,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self._repository = repository
        self._store = store
        self._ledger = ledger
        self._clock = clock
        self._grace = grace
        self._metrics = metrics
        self._tracer = tracer
        self._admitted: dict[str, FileRecord] = {}
        """The file each upload in progress was admitted for, so that its commit does not
        read the row again (the commit's compare-and-set still checks the state)."""

    async def admit(self, key: str) -> None:
        """Refuse bytes for a key no file is waiting for (also past its deadline)."""
        record = await self._waiting_file(key)
        if len(self._admitted) >= MAX_ADMITTED:  # uploads abandoned before their commit
            del self._admitted[next(iter(self._admitted))]
        self._admitted[key] = record

    async def commit(self, key: str, info: ObjectInfo) -> None:
        """Record the written object and enqueue its event in one step."""
        admitted = self._admitted.pop(key, None)
        if admitted is not None and self._is_waiting(admitted):
            record = admitted
        else:  # not admitted by this process, or its deadline moved: read it again
            record = await self._waiting_file(key)
        event = ObjectCreated(key=key, size=info.size, etag=info.etag)
        if await self._record(record, event, "store") is None:
            raise _not_waiting()
        self._metrics.upload_bytes(info.size)

    async def complete(self, owner: str, file_id: str) -> FileRecord:
        """The client says the bytes are there: check the store, then enqueue verification.

        Idempotent: a file already uploaded, ready or rejected is returned unchanged.
        Raises UPLOAD_INCOMPLETE when the object does not exist yet.
        """
        record = await self._repository.get_owned(owner, file_id)
        if record is None:
            raise not_found()
        if record.state in _ALREADY_SIGNALLED:
            return record
        if record.state is not FileState.REGISTERED:
            raise FilegateError(ErrorCode.INVALID_STATE, f"The file is {record.state.value}.")
        info = await self._store.head(record.object_key)
        if info is None:
            raise FilegateError(ErrorCode.UPLOAD_INCOMPLETE, "No bytes have arrived yet.")
        return await self.recover(record, info, via="complete")

    async def recover(
        self, record: FileRecord, info: ObjectInfo, *, via: UploadVia = "recovered"
    ) -> FileRecord:
        """Record an object found in the store for a REGISTERED file (a lost or late event).

        No deadline applies: the store only took the bytes through a URL that was valid.
        Returns the file as it is now (unchanged when it was no longer REGISTERED). ``via``
        names on the span how the bytes were signalled.
        """
        event = ObjectCreated(key=record.object_key, size=info.size, etag=info.etag)
        updated = await self._record(record, event, via)
        return updated or await self._reloaded(record)

    async def _record(
        self, record: FileRecord, event: ObjectCreated, via: UploadVia
    ) -> FileRecord | None:
        """The ledger's ``record_upload``, in a span of the file's trace that the event
        continues."""
        attributes = {FILE_ID: record.id, UPLOAD_VIA: via}
        with self._tracer.span(
            FILE_UPLOAD_COMMIT,
            parent=record.trace_parent,
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        ) as span:
            traced = dataclasses.replace(event, trace_parent=span.trace_parent)
            return await self._ledger.record_upload(record.id, encode_object_created(traced))

    async def _waiting_file(self, key: str) -> FileRecord:
        record = await self._repository.get_by_key(key)
        if record is None:
            raise not_found()
        if not self._is_waiting(record):
            raise _not_waiting()
        return record

    def _is_waiting(self, record: FileRecord) -> bool:
        deadline = record.upload_expires_at + self._grace
        return record.state is FileState.REGISTERED and self._clock.now() <= deadline

    async def _reloaded(self, record: FileRecord) -> FileRecord:
        current = await self._repository.get(record.id)
        return current or record


def _not_waiting() -> FilegateError:
    return FilegateError(ErrorCode.INVALID_STATE, "The file is not waiting for an upload.")
