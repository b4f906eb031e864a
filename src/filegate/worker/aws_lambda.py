"""The worker as an AWS Lambda function on the SQS queue (event source mapping with
``FunctionResponseTypes: [ReportBatchItemFailures]``).

Lambda receives the messages and deletes the ones the function does not report, so the
handler only decides, per message, with the same :class:`BatchProcessor` as the worker loop,
and settles by the same rule (:mod:`filegate.worker.settlement`, ``Deleter.EVENT_SOURCE``):

* succeeded: not reported; Lambda deletes it.
* dead (can never succeed): copied to the dead-letter queue with its reason, then not
  reported, so Lambda deletes it. If the copy fails it is reported instead: never lost.
* retried: reported in ``batchItemFailures``, and its visibility shortened to its backoff
  delay (else Lambda's SQS would hide it for the queue's whole visibility timeout).

Only ids from this batch are reported, each once. A failed message without an id cannot be
named; then the handler raises and Lambda retries the whole batch.

The services are built once per container, lazily, on the first invocation, and every
invocation runs on one event loop kept for the container's life (``asyncio.Runner``). The
aiobotocore clients, the database pool and the decoding pool are bound to the loop they
were created on; ``asyncio.run`` per invocation would close that loop and force a rebuild
(new TLS connections, credentials, database sessions) on every batch. Lambda freezes the
process between invocations, so an idle loop costs nothing; connections the other side
closed meanwhile are retried by botocore and re-opened by the pools.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from filegate.domain.models import Message, VisibilityChange
from filegate.worker.batch import Dead, Processor
from filegate.worker.settlement import Deleter, Settlement, plan_settlement

log = logging.getLogger(__name__)

LambdaResponse = dict[str, list[dict[str, str]]]


class DeadLetterRoute(Protocol):
    """What the handler asks of the queue Lambda consumes (``SqsQueue`` has both)."""

    async def copy_to_dead_letter_queue(self, message: Message, reason: str) -> None:
        """Send the message to the dead-letter queue, leaving the original alone."""
        ...

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        """Make claimed messages visible again after their delays."""
        ...


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class LambdaWorker:
    """What one container needs: the processor, and the queue its events come from.

    ``after_batch`` runs after each batch is settled (the verifier relays the webhook
    events its batch caused: a Lambda deployment has no long-running relay).
    """

    processor: Processor
    queue: DeadLetterRoute
    after_batch: Callable[[], Awaitable[object]] | None = None
    after_invocation: Callable[[], None] = _nothing
    """Runs (on a thread) when an invocation's work is done, before Lambda may freeze the
    process: the composition root exports the invocation's spans with it."""


WorkerFactory = Callable[[], AbstractAsyncContextManager[LambdaWorker]]


class UnnamedFailure(Exception):
    """A message without an id failed: it cannot be reported, so the whole batch fails."""


class LambdaHandler:
    """``handler(event, context)`` for Lambda, over a worker built on first use.

    ``open_worker`` is called once per container (again only if it failed); its context
    stays open until :meth:`close` (Lambda never calls it; tests do).
    """

    def __init__(self, open_worker: WorkerFactory) -> None:
        self._open_worker = open_worker
        self._runner: asyncio.Runner | None = None
        self._stack = AsyncExitStack()
        self._worker: LambdaWorker | None = None

    def __call__(self, event: Mapping[str, Any], context: object) -> LambdaResponse:
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(self._invoke(event))

    async def _invoke(self, event: Mapping[str, Any]) -> LambdaResponse:
        if self._worker is None:
            self._worker = await self._stack.enter_async_context(self._open_worker())
        try:
            return await handle_event(event, self._worker)
        finally:
            await asyncio.to_thread(self._worker.after_invocation)

    def close(self) -> None:
        """Close the worker's resources and the event loop."""
        if self._runner is not None:
            self._runner.run(self._stack.aclose())
            self._runner.close()
            self._runner = None
        self._stack = AsyncExitStack()
        self._worker = None


def make_handler(open_worker: WorkerFactory) -> LambdaHandler:
    """A Lambda handler whose services come from ``open_worker`` (injectable in tests)."""
    return LambdaHandler(open_worker)


async def handle_event(event: Mapping[str, Any], worker: LambdaWorker) -> LambdaResponse:
    """Process one SQS event and answer Lambda's partial batch response.

    Raises :class:`UnnamedFailure` when a failed message has no id, ``ValueError`` when the
    event is not an SQS event: in both cases Lambda retries the whole batch.
    """
    result = await worker.processor.process(messages_from_event(event))
    if result.has_unnamed_failure():
        raise UnnamedFailure("a message without a messageId failed; retrying the whole batch")
    failures = await _settle(worker.queue, plan_settlement(result, Deleter.EVENT_SOURCE))
    if worker.after_batch is not None:
        await _after(worker.after_batch)
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}


async def _after(hook: Callable[[], Awaitable[object]]) -> None:
    """Run the after-batch hook; its failure never fails the batch (it is retried by the
    next batch or the scheduled sweeps)."""
    try:
        await hook()
    except Exception:
        log.warning("after-batch work failed; the next batch or sweep retries it", exc_info=True)


async def _settle(queue: DeadLetterRoute, plan: Settlement) -> list[str]:
    """Copy dead messages to the DLQ and shorten retries; the ids to report."""
    copied = await asyncio.gather(*(_copy_to_dlq(queue, dead) for dead in plan.dead))
    await _shorten_visibility(queue, plan.delays)
    return plan.reported([dead for dead, ok in zip(plan.dead, copied, strict=True) if not ok])


async def _copy_to_dlq(queue: DeadLetterRoute, dead: Dead) -> bool:
    try:
        await queue.copy_to_dead_letter_queue(dead.message, dead.dead_letter_reason)
    except Exception:
        log.warning("could not dead-letter %s; reporting it failed", dead.message.id, exc_info=True)
        return False
    return True


async def _shorten_visibility(queue: DeadLetterRoute, delays: Sequence[VisibilityChange]) -> None:
    if not delays:
        return
    try:
        await queue.change_visibility_batch(delays)
    except Exception:
        log.warning(
            "could not shorten the visibility of %d retried message(s); they return after "
            "the queue's visibility timeout",
            len(delays),
            exc_info=True,
        )


def messages_from_event(event: Mapping[str, Any]) -> list[Message]:
    """The event's records as messages; ``ValueError`` when it has no ``Records`` list."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")
    return [message_from_record(record) for record in records]


def message_from_record(record: object) -> Message:
    """One SQS event record as a :class:`Message`; missing fields become empty (a missing
    body fails that message alone, a missing id fails the batch)."""
    if not isinstance(record, Mapping):
        return Message("", "", "", 1)
    return Message(
        id=_text(record.get("messageId")),
        receipt=_text(record.get("receiptHandle")),
        body=_text(record.get("body")),
        receive_count=_receive_count(record.get("attributes")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _receive_count(attributes: object) -> int:
    if not isinstance(attributes, Mapping):
        return 1
    try:
        return max(int(attributes.get("ApproximateReceiveCount", 1)), 1)
    except (TypeError, ValueError):
        return 1
