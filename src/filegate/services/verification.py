"""Verifying uploaded files, a batch of upload events at a time.

A batch costs two database transactions whatever its size: one read loads every file its
events name (``FileRepository.get_many_by_key``), one write applies every verdict, each its
own compare-and-set with its history row (``FileRepository.transition_many``). In between,
each file's object is examined (:mod:`filegate.services.examination`), concurrently.

A verdict whose compare-and-set loses (the file was deleted, or verified by another
worker, meanwhile) changes nothing, and the renditions stored for it are deleted again,
unless the file is READY and lists them (the winner's, under the same keys): that costs one
more read, only when a race was lost. Renditions of verdicts that could not be applied at
all are deleted too. A failure belongs to the events of its file only, except a failed
load, which fails the whole batch.

Each file's verification is a ``file.verify`` span in the file's trace: a child of the
span that sent the event when the message carried its context, else of the file's
registration span (an S3 notification carries none); the examination is its child.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import FileRecord, ObjectCreated, StateChange
from filegate.domain.ports import (
    EventKeys,
    FileRepository,
    ImageInspector,
    LocalPaths,
    ObjectStore,
)
from filegate.domain.sequencer import is_stale
from filegate.domain.states import AWAITING_VERIFICATION, FileState
from filegate.domain.tracing import (
    CONTEXT_FROM,
    FILE_EXAMINE,
    FILE_ID,
    FILE_REASON,
    FILE_STATE,
    FILE_VERIFY,
    NO_SPAN,
    NO_TRACING,
    VERIFY_OUTCOME,
    Span,
    SpanKind,
    Tracer,
)
from filegate.services.examination import Examiner

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Job:
    """One file of a batch to examine, and what became of it (shared by its events)."""

    record: FileRecord
    event: ObjectCreated
    change: StateChange | None = None
    """The verdict to apply, with the event's sequencer; ``None`` while there is none."""
    seconds: float = 0.0
    error: Exception | None = None
    settled: bool = False
    """The verdict was applied, or lost and its renditions deleted."""
    span: Span = NO_SPAN


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
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self._repository = repository
        self._examiner = Examiner(store, inspector, local_paths, scratch_dir)
        self._event_keys = event_keys
        self._metrics = metrics
        self._tracer = tracer

    async def handle(self, event: ObjectCreated) -> None:
        """Verify the file stored under ``event.key`` unless it is unknown or already final."""
        [error] = await self.handle_batch([event], asyncio.Semaphore(1))
        if error is not None:
            raise error

    async def handle_batch(
        self, events: Sequence[ObjectCreated], slots: asyncio.Semaphore
    ) -> list[Exception | None]:
        """Verify the files of ``events``; per event, in order, ``None`` when it is dealt
        with, else the exception :meth:`handle` would have raised for it.

        At most ``slots`` files are examined at once. Events naming the same file share
        one verification. Raises (for every event) only when the files cannot be loaded.
        """
        keys = [self._object_key(event) for event in events]
        wanted = sorted({key for key in keys if key is not None})
        records = await self._repository.get_many_by_key(wanted) if wanted else {}
        plan = _plan(events, keys, records)
        jobs = list(dict.fromkeys(job for job in plan if job is not None))
        with ExitStack() as spans:
            for job in jobs:
                job.span = spans.enter_context(self._span_of(job))
            try:
                await asyncio.gather(*(self._examine(job, slots) for job in jobs))
                await self._apply(jobs)
            except BaseException:
                await self._discard_unsettled(jobs)
                raise
            for job in jobs:
                _describe_unapplied(job)
        return [job.error if job is not None else None for job in plan]

    def _span_of(self, job: _Job) -> AbstractContextManager[Span]:
        """The job's ``file.verify`` span, continuing the message's context or the file's."""
        from_message = job.event.trace_parent is not None
        parent = job.event.trace_parent if from_message else job.record.trace_parent
        attributes = {FILE_ID: job.record.id, CONTEXT_FROM: "message" if from_message else "file"}
        return self._tracer.span(
            FILE_VERIFY, parent=parent, kind=SpanKind.CONSUMER, attributes=attributes
        )

    def _object_key(self, event: ObjectCreated) -> str | None:
        key = self._event_keys.key_of_event(event.key) if self._event_keys else event.key
        return key or None

    async def _examine(self, job: _Job, slots: asyncio.Semaphore) -> None:
        async with slots:
            started = time.perf_counter()
            try:
                with self._tracer.span(FILE_EXAMINE, parent=job.span.trace_parent):
                    verdict = await self._examiner.examine(job.record)
            except Exception as exc:
                job.error = exc
                return
            job.seconds = time.perf_counter() - started
        if verdict is not None:
            job.change = dataclasses.replace(verdict.change, sequencer=job.event.sequencer)

    async def _apply(self, jobs: Sequence[_Job]) -> None:
        """Apply the verdicts of ``jobs`` in one transaction; a lost compare-and-set fails
        nobody, a failed transaction fails every job with a verdict."""
        due = [(job, job.change) for job in jobs if job.change is not None]
        if not due:
            return
        changes = [(job.record.id, job.record.state, change) for job, change in due]
        try:
            updated = await self._repository.transition_many(changes)
        except Exception as exc:
            for job, _ in due:
                job.error = exc
            await self._discard_unsettled(jobs)
            return
        lost = []
        for (job, change), record in zip(due, updated, strict=True):
            if record is None:
                log.info("file changed during verification", extra={"file_id": job.record.id})
                job.span.set(VERIFY_OUTCOME, "lost")
                lost.append(job)
            else:
                job.settled = True
                _describe_applied(job.span, change)
                self._report(record, change, job.seconds)
        if lost:
            await self._settle_lost(lost)

    async def _settle_lost(self, jobs: Sequence[_Job]) -> None:
        """Delete the renditions of verdicts that lost their compare-and-set, but for those
        the file, READY now, lists: a rendition's key is fixed by its file, so a verifier
        that won with the same object has stored and committed the very same keys.

        When the files cannot be read again, the renditions stay (the reconciler removes
        those of files that are gone).
        """
        try:
            current = await self._repository.get_many_by_key([j.record.object_key for j in jobs])
        except Exception:
            log.warning("could not tell whose renditions a lost verdict left", exc_info=True)
            current = None
        for job in jobs:
            if job.change is None or job.settled:
                continue
            job.settled = True
            if current is None:
                continue
            now = current.get(job.record.object_key)
            kept = (
                {r.name for r in now.renditions} if now and now.state is FileState.READY else set()
            )
            unused = [r for r in job.change.renditions if r.name not in kept]
            await self._examiner.discard_renditions(job.record, unused)

    async def _discard_unsettled(self, jobs: Sequence[_Job]) -> None:
        """Delete the renditions of every verdict not applied (each job once)."""
        for job in jobs:
            if job.change is not None and not job.settled:
                job.settled = True
                await self._examiner.discard_renditions(job.record, job.change.renditions)

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


def _describe_applied(span: Span, change: StateChange) -> None:
    span.set(VERIFY_OUTCOME, "applied")
    span.set(FILE_STATE, change.target.value)
    if change.reason is not None:
        span.set(FILE_REASON, change.reason)


def _describe_unapplied(job: _Job) -> None:
    """Mark the span of a job that failed, or had nothing to apply."""
    if job.error is not None:
        job.span.fail(type(job.error).__name__)
    elif job.change is None:
        job.span.set(VERIFY_OUTCOME, "unchanged")


def _plan(
    events: Sequence[ObjectCreated],
    keys: Sequence[str | None],
    records: Mapping[str, FileRecord],
) -> list[_Job | None]:
    """Per event, the job verifying its file, or ``None`` when the event changes nothing.

    The first event of a file that is due creates its job; later ones share it.
    """
    jobs: dict[str, _Job] = {}
    plan: list[_Job | None] = []
    for event, key in zip(events, keys, strict=True):
        job = jobs.get(key) if key is not None else None
        if job is None and key is not None:
            job = _job_for(event, records.get(key))
            if job is not None:
                jobs[key] = job
        plan.append(job)
    return plan


def _job_for(event: ObjectCreated, record: FileRecord | None) -> _Job | None:
    if record is None or record.state not in AWAITING_VERIFICATION:
        log.info("event without a waiting file", extra={"key": event.key})
        return None
    if is_stale(event.sequencer, record.last_sequencer):
        log.info("stale event dropped", extra={"key": event.key})
        return None
    return _Job(record, event)
