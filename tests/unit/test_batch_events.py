"""BatchProcessor with a BatchEventHandler: a batch's upload events in one call, failures
still per message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from filegate.domain.errors import BackendUnavailable, PoisonMessage
from filegate.domain.messages import FILES_DELETE, Envelope, encode_files_delete
from filegate.domain.models import FailureReason, Message, ObjectCreated
from filegate.worker.batch import BatchEventHandler, BatchProcessor, Dead, Retry, Succeeded
from filegate.worker.retry import RetryPolicy
from tests.unit.test_batch import message

RETRY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100))


class BatchRecorder:
    """Records each call's events; answers per key from ``errors``, or raises ``failure``."""

    def __init__(self, errors: dict[str, Exception] | None = None) -> None:
        self.errors = errors or {}
        self.failure: Exception | None = None
        self.calls: list[list[str]] = []
        self.single: list[str] = []

    async def handle(self, event: ObjectCreated) -> None:
        self.single.append(event.key)

    async def handle_batch(
        self, events: Sequence[ObjectCreated], slots: asyncio.Semaphore
    ) -> list[Exception | None]:
        self.calls.append([event.key for event in events])
        if self.failure is not None:
            raise self.failure
        return [self.errors.get(event.key) for event in events]


class Deletes:
    def __init__(self) -> None:
        self.seen: list[Envelope] = []

    async def handle(self, envelope: Envelope) -> None:
        self.seen.append(envelope)


def processor(handler: BatchRecorder, deletes: Deletes | None = None) -> BatchProcessor:
    tasks = {FILES_DELETE: deletes or Deletes()}
    return BatchProcessor(handler, RETRY, random=lambda: 0.5, tasks=tasks)


def test_the_recorder_is_a_batch_event_handler() -> None:
    assert isinstance(BatchRecorder(), BatchEventHandler)


async def test_every_distinct_event_of_the_batch_goes_in_one_call() -> None:
    handler = BatchRecorder()
    batch = [message("m1", "a", "b"), message("m2", "b"), message("m3", "c")]
    result = await processor(handler).process(batch)
    assert handler.calls == [["a", "b", "c"]]
    assert handler.single == []
    assert [type(o) for o in result.outcomes] == [Succeeded, Succeeded, Succeeded]


async def test_each_events_error_fails_only_the_messages_carrying_it() -> None:
    errors: dict[str, Exception] = {
        "t": BackendUnavailable("db down"),
        "p": PoisonMessage("never"),
        "x": RuntimeError("bug"),
    }
    handler = BatchRecorder(errors)
    batch = [message("ok", "a"), message("both", "a", "t"), message("poison", "p")]
    batch.append(message("crash", "x"))
    result = await processor(handler).process(batch)
    ok, both, poison, crash = result.outcomes
    assert isinstance(ok, Succeeded)
    assert isinstance(both, Retry) and both.reason is FailureReason.BACKEND_UNAVAILABLE
    assert isinstance(poison, Dead) and (poison.reason, poison.detail) == (
        FailureReason.POISON,
        "never",
    )
    assert isinstance(crash, Retry) and (crash.reason, crash.detail) == (
        FailureReason.UNEXPECTED,
        "RuntimeError",
    )


async def test_a_raising_batch_call_fails_every_upload_message_but_no_task() -> None:
    handler = BatchRecorder()
    handler.failure = BackendUnavailable("cannot load the files")
    deletes = Deletes()
    batch = [
        message("m1", "a"),
        message("m2", "b"),
        Message("del", "r-del", encode_files_delete(["f1"]), 1),
    ]
    result = await processor(handler, deletes).process(batch)
    assert [o.message.id for o in result.retried] == ["m1", "m2"]
    assert [o.message.id for o in result.succeeded] == ["del"]
    assert len(deletes.seen) == 1


async def test_a_batch_without_upload_events_makes_no_call() -> None:
    handler = BatchRecorder()
    batch = [Message("del", "r-del", encode_files_delete(["f1"]), 1)]
    result = await processor(handler).process(batch)
    assert handler.calls == []
    assert len(result.succeeded) == 1
