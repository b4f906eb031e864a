"""What becomes of a processed batch on its queue: one rule, two ways of applying it.

Succeeded messages are deleted; retried ones are made visible again after their backoff;
dead ones go to the dead-letter queue with their reason. Who does the deleting is the one
difference between the two consumers, named by :class:`Deleter`:

* :attr:`Deleter.WORKER` (the worker loop) deletes the successes itself, in one call, and
  *moves* each dead message to the dead-letter queue (``Queue.dead_letter``).
* :attr:`Deleter.EVENT_SOURCE` (Lambda's SQS event source mapping) deletes every message the
  response does not report. So nothing is deleted here; each dead message is *copied* to the
  dead-letter queue and left unreported, so that the event source deletes the original;
  if the copy fails it is reported instead (kept, never lost). Retried messages are
  reported.

:func:`plan_settlement` states the rule as data; :func:`settle` applies it for the worker
loop, :mod:`filegate.worker.aws_lambda` for Lambda.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from enum import Enum

from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import VisibilityChange
from filegate.domain.ports import Queue
from filegate.worker.batch import BatchResult, Dead

log = logging.getLogger(__name__)


class Deleter(Enum):
    """Who deletes the messages a batch is done with (see the module's docstring)."""

    WORKER = "worker"
    EVENT_SOURCE = "event source"


@dataclass(frozen=True)
class Settlement:
    """The queue calls that settle one batch.

    ``delete``: receipts to delete now. ``delays``: one visibility change per retried
    message, after its own backoff. ``dead``: messages for the dead-letter queue; moved
    there when ``move_dead`` is set, else copied (the event source deletes the original
    unless it is reported). Use :meth:`reported` for the ids to report failed.
    """

    delete: tuple[str, ...]
    delays: tuple[VisibilityChange, ...]
    dead: tuple[Dead, ...]
    move_dead: bool
    kept: frozenset[str]
    """Ids the event source must not delete whatever happens (retried messages)."""
    failure_order: tuple[str, ...]
    """The batch's failure ids in batch order (empty when the worker deletes)."""

    def reported(self, not_copied: Collection[Dead] = ()) -> list[str]:
        """Ids to report failed so that the event source keeps those messages: the retried
        ones and the dead ones whose copy failed (``not_copied``), in batch order, each
        once. Always empty for :attr:`Deleter.WORKER`, which reports to nobody."""
        keep = self.kept | {dead.message.id for dead in not_copied}
        return [message_id for message_id in self.failure_order if message_id in keep]


def plan_settlement(result: BatchResult, deleter: Deleter) -> Settlement:
    """The settlement of ``result`` when ``deleter`` deletes finished messages."""
    delays = tuple(VisibilityChange(r.message.receipt, r.delay) for r in result.retried)
    if deleter is Deleter.WORKER:
        receipts = tuple(s.message.receipt for s in result.succeeded)
        return Settlement(receipts, delays, tuple(result.dead), True, frozenset(), ())
    kept = frozenset(r.message.id for r in result.retried)
    order = tuple(result.failure_ids())
    return Settlement((), delays, tuple(result.dead), False, kept, order)


async def settle(queue: Queue, result: BatchResult, metrics: Metrics = NO_METRICS) -> None:
    """Settle a batch the worker loop processed: one ``delete_batch`` for all successes,
    one ``change_visibility_batch`` for all retried messages, a dead-letter move per dead
    one (:attr:`Deleter.WORKER`).

    Never raises for a queue failure: a message whose call failed keeps its claim and
    comes back after its visibility timeout (at-least-once), so the failure is logged and
    settling goes on with the next call. ``metrics`` counts the retries and dead-letter
    moves the queue accepted.
    """
    plan = plan_settlement(result, Deleter.WORKER)
    if plan.delete:
        await _guarded("delete_batch", len(plan.delete), queue.delete_batch(plan.delete))
    if plan.delays:
        call = queue.change_visibility_batch(plan.delays)
        if await _guarded("change_visibility_batch", len(plan.delays), call):
            metrics.retried(len(plan.delays))
    for dead in plan.dead:
        call = queue.dead_letter(dead.message, dead.dead_letter_reason)
        if await _guarded("dead_letter", 1, call):
            metrics.dead_lettered(1)


async def _guarded(operation: str, count: int, call: Awaitable[None]) -> bool:
    """Await ``call``; whether it succeeded (a failure is logged, never raised)."""
    try:
        await call
    except Exception:
        log.warning(
            "queue %s failed for %d message(s); they come back after their visibility timeout",
            operation,
            count,
            exc_info=True,
            extra={"operation": operation, "messages": count},
        )
        return False
    return True
