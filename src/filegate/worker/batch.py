"""One batch of queue messages → one outcome per message.

The partial-failure rules of SQS + Lambda: every message succeeds, is retried after a
backoff, or is dead-lettered on its own; a malformed message fails alone. The same
processor serves the worker loop and the Lambda handler; :mod:`filegate.worker.settlement`
says what becomes of each outcome on the queue.

Upload events go to the one :class:`EventHandler`, all of a batch's at once when it is a
:class:`BatchEventHandler` (the verifier: one load and one transaction per batch), else one
by one; other work messages (filegate envelopes of another ``type``, e.g. ``files.delete``)
go to the :class:`TaskHandler` registered for their type. A message of a type nobody
registered is dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random as _random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

from filegate.domain.errors import BackendUnavailable, PoisonMessage
from filegate.domain.messages import Envelope, Work, parse_work
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import FailureReason, Message, ObjectCreated, dead_letter_reason
from filegate.worker.retry import RetryPolicy

log = logging.getLogger(__name__)


class EventHandler(Protocol):
    """Acts on one upload event; must be idempotent (events arrive at least once)."""

    async def handle(self, event: ObjectCreated) -> None:
        """Return when the event is dealt with (including "nothing to do").

        Raise :class:`BackendUnavailable` for trouble that may pass (retried after a
        backoff), :class:`PoisonMessage` when the event can never succeed (dead-lettered
        now). Anything else is unexpected: logged and retried like a transient failure,
        until the queue's receive limit dead-letters the message.
        """
        ...


@runtime_checkable
class BatchEventHandler(Protocol):
    """An :class:`EventHandler` that can also act on a batch's upload events together."""

    async def handle_batch(
        self, events: Sequence[ObjectCreated], slots: asyncio.Semaphore
    ) -> list[Exception | None]:
        """Handle distinct events, at most ``slots`` of them at a time where they run
        concurrently; per event, in order, ``None`` when it is dealt with, else the
        exception :meth:`EventHandler.handle` would have raised for it alone.

        Raising instead fails every event of the call with that exception.
        """
        ...


class TaskHandler(Protocol):
    """Acts on one work message of the type it is registered for; must be idempotent."""

    async def handle(self, envelope: Envelope) -> None:
        """As :meth:`EventHandler.handle`; a malformed envelope raises :class:`PoisonMessage`."""
        ...


@dataclass(frozen=True)
class Succeeded:
    """Every event of the message was handled (or it carried none): delete it."""

    message: Message


@dataclass(frozen=True)
class Retry:
    """Some event failed in a way that may pass: make the message visible after ``delay``.

    ``reason`` is never permanent; ``detail`` says more, for people.
    """

    message: Message
    delay: timedelta
    reason: FailureReason
    detail: str = ""


@dataclass(frozen=True)
class Dead:
    """The message can never succeed: move it to the dead-letter queue.

    ``reason`` is permanent; ``detail`` says more, for people.
    """

    message: Message
    reason: FailureReason
    detail: str = ""

    @property
    def dead_letter_reason(self) -> str:
        """The reason the dead-letter queue stores: ``CODE: detail``."""
        return dead_letter_reason(self.reason, self.detail)


MessageOutcome = Succeeded | Retry | Dead
"""What becomes of a message; tell them apart by type."""


@dataclass(frozen=True)
class BatchResult:
    """The outcome of every message of a batch, in batch order."""

    outcomes: tuple[MessageOutcome, ...]

    @property
    def succeeded(self) -> list[Succeeded]:
        return [o for o in self.outcomes if isinstance(o, Succeeded)]

    @property
    def retried(self) -> list[Retry]:
        return [o for o in self.outcomes if isinstance(o, Retry)]

    @property
    def dead(self) -> list[Dead]:
        return [o for o in self.outcomes if isinstance(o, Dead)]

    def failure_ids(self) -> list[str]:
        """Ids of the messages that did not succeed, in batch order, each once.

        Only ids from this batch, never an empty one: a failed message without an id
        cannot be named, so a caller that reports failures by id (the Lambda response)
        must treat :meth:`has_unnamed_failure` as a failure of the whole batch.
        """
        ids: list[str] = []
        for outcome in self.outcomes:
            message_id = outcome.message.id
            if not isinstance(outcome, Succeeded) and message_id and message_id not in ids:
                ids.append(message_id)
        return ids

    def has_unnamed_failure(self) -> bool:
        """Whether a message with an empty id did not succeed."""
        return any(not o.message.id and not isinstance(o, Succeeded) for o in self.outcomes)


@dataclass(frozen=True)
class _Failure:
    """Why handling one event failed; a permanent reason sends its messages to the DLQ."""

    reason: FailureReason
    detail: str


_Handled = _Failure | None
_WorkKey = tuple[str, str]
"""Identifies equal work within a batch: upload events by object key, tasks by content."""


class Processor(Protocol):
    """What a consumer feeds its batches to: one outcome per message, never raising for a
    message's failure."""

    async def process(self, messages: Sequence[Message]) -> BatchResult: ...


class BatchProcessor:
    """Parses, deduplicates and handles a batch; never raises for a message's failure.

    Events with the same key within a batch (say the S3 notification and the client's
    ``complete``) are handled once and their messages share the outcome; so are identical
    work messages. At most ``concurrency`` items of one batch are handled at a time.
    ``tasks`` maps a work message type to its handler.
    """

    def __init__(
        self,
        handler: EventHandler,
        retry: RetryPolicy,
        random: Callable[[], float] = _random.random,
        concurrency: int = 10,
        tasks: Mapping[str, TaskHandler] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._events = handler if isinstance(handler, BatchEventHandler) else _OneByOne(handler)
        self._retry = retry
        self._random = random
        self._concurrency = concurrency
        self._tasks: Mapping[str, TaskHandler] = dict(tasks or {})
        self._metrics = metrics

    async def process(self, messages: Sequence[Message]) -> BatchResult:
        """One outcome per message, in the order given."""
        started = time.perf_counter()
        parsed = [_parse(message, self._tasks) for message in messages]
        handled = await self._handle_unique(parsed)
        result = BatchResult(
            tuple(
                self._outcome(message, events, handled)
                for message, events in zip(messages, parsed, strict=True)
            )
        )
        _log_batch(result, time.perf_counter() - started)
        self._metrics.batch(
            len(result.outcomes), len(result.succeeded), len(result.retried), len(result.dead)
        )
        return result

    async def _handle_unique(self, parsed: Sequence[list[Work] | Dead]) -> dict[_WorkKey, _Handled]:
        unique: dict[_WorkKey, Work] = {}
        for items in parsed:
            if not isinstance(items, Dead):
                for item in items:
                    unique.setdefault(_key_of(item), item)
        events = {key: item for key, item in unique.items() if isinstance(item, ObjectCreated)}
        tasks = {key: item for key, item in unique.items() if isinstance(item, Envelope)}
        # A semaphore per batch, not per processor: a processor may outlive an event loop
        # (one asyncio.run per Lambda invocation) and a semaphore is bound to its loop.
        slots = asyncio.Semaphore(self._concurrency)
        handled_events, handled_tasks = await asyncio.gather(
            self._handle_events(list(events.values()), slots),
            asyncio.gather(*(self._handle_task(task, slots) for task in tasks.values())),
        )
        return dict(zip([*events, *tasks], [*handled_events, *handled_tasks], strict=True))

    async def _handle_events(
        self, events: Sequence[ObjectCreated], slots: asyncio.Semaphore
    ) -> list[_Handled]:
        if not events:
            return []
        try:
            errors = await self._events.handle_batch(events, slots)
        except Exception as exc:
            errors = [exc] * len(events)
        return [_failure(event.key, error) for event, error in zip(events, errors, strict=True)]

    async def _handle_task(self, task: Envelope, slots: asyncio.Semaphore) -> _Handled:
        async with slots:
            try:
                await self._tasks[task.type].handle(task)
            except Exception as exc:
                return _failure(task.type, exc)
        return None

    def _outcome(
        self,
        message: Message,
        items: list[Work] | Dead,
        handled: dict[_WorkKey, _Handled],
    ) -> MessageOutcome:
        if isinstance(items, Dead):
            return items
        failures = [f for f in (handled[_key_of(i)] for i in items) if f is not None]
        permanent = next((f for f in failures if f.reason.permanent), None)
        if permanent is not None:
            return Dead(message, permanent.reason, permanent.detail)
        if failures:
            first = failures[0]
            delay = self._retry.delay(max(message.receive_count, 1), self._random)
            return Retry(message, delay, first.reason, first.detail)
        return Succeeded(message)


class _OneByOne:
    """A :class:`BatchEventHandler` over an :class:`EventHandler`: each event on its own."""

    def __init__(self, handler: EventHandler) -> None:
        self._handler = handler

    async def handle_batch(
        self, events: Sequence[ObjectCreated], slots: asyncio.Semaphore
    ) -> list[Exception | None]:
        return list(await asyncio.gather(*(self._handle(event, slots) for event in events)))

    async def _handle(self, event: ObjectCreated, slots: asyncio.Semaphore) -> Exception | None:
        async with slots:
            try:
                await self._handler.handle(event)
            except Exception as exc:
                return exc
        return None


def _failure(label: str, error: Exception | None) -> _Handled:
    """What handling ``label`` came to, logged as its kind of failure deserves."""
    if error is None:
        return None
    if isinstance(error, PoisonMessage):
        return _Failure(FailureReason.POISON, str(error))
    if isinstance(error, BackendUnavailable):
        log.warning("backend unavailable handling %s: %s", label, error)
        return _Failure(FailureReason.BACKEND_UNAVAILABLE, str(error))
    log.error("unexpected error handling %s", label, exc_info=error)
    return _Failure(FailureReason.UNEXPECTED, type(error).__name__)


def _key_of(item: Work) -> _WorkKey:
    if isinstance(item, ObjectCreated):
        return ("object.created", item.key)
    return (item.type, json.dumps(item.fields, sort_keys=True))


def _parse(message: Message, tasks: Mapping[str, TaskHandler]) -> list[Work] | Dead:
    try:
        items = parse_work(message.body)
        if any(isinstance(i, Envelope) and i.type not in tasks for i in items):
            raise PoisonMessage("unknown event type")
        return items
    except PoisonMessage as exc:
        log.warning("poison message %s: %s", message.id, exc)
        return Dead(message, FailureReason.MALFORMED, str(exc))


def _log_batch(result: BatchResult, seconds: float) -> None:
    counts = {
        "batch_size": len(result.outcomes),
        "succeeded": len(result.succeeded),
        "retried": len(result.retried),
        "dead": len(result.dead),
    }
    log.info(
        "batch of %(batch_size)d: %(succeeded)d succeeded, %(retried)d retried, %(dead)d dead",
        counts,
        extra={**counts, "duration_ms": round(seconds * 1000, 3)},
    )
