"""SQS batch calls and their partial failures.

A batch call (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch) takes at
most ten entries and answers per entry: ``Successful`` ones and ``Failed`` ones, each failure
with a ``Code`` and ``SenderFault``. Here:

* entries that failed on SQS's side are sent again, only those, with exponential backoff;
* a stale receipt (see ``sqs_client.is_stale_receipt``) is no error: the
  message was deleted or claimed again, and there is nothing left to do;
* any other sender fault raises :class:`SqsEntryRejected` at once (retrying cannot help).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from filegate.adapters.sqs.client import aws, is_stale_receipt, short_code
from filegate.domain.errors import BackendUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_sqs.type_defs import BatchResultErrorEntryTypeDef

log = logging.getLogger(__name__)

MAX_ENTRIES = 10
"""SQS takes at most ten entries per batch call (and returns at most ten messages)."""

_Entry = TypeVar("_Entry", bound=Mapping[str, object])
_T = TypeVar("_T")
Failures = Sequence["BatchResultErrorEntryTypeDef"]
BatchCall = Callable[[list[_Entry]], Awaitable[Failures]]


class SqsEntryRejected(ValueError):
    """SQS refused batch entries for a reason of the sender's; retrying cannot help."""


@dataclass(frozen=True)
class EntryRetry:
    """How often a batch call is made for entries that keep failing, and the first pause
    between calls (doubling after each)."""

    attempts: int = 4
    backoff: timedelta = timedelta(milliseconds=50)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def pause(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (1 = the first)."""
        return float(self.backoff.total_seconds() * 2 ** (retry - 1))


async def call_in_batches(
    operation: str,
    batches: Sequence[list[_Entry]],
    call: BatchCall[_Entry],
    retry: EntryRetry,
) -> None:
    """Make ``call`` for every batch at once, each until settled, then raise the first
    failure: ``BackendUnavailable`` when entries still fail after ``retry.attempts``.

    Batches are independent: when one fails the others still complete, so a caller that
    retries everything sends some entries twice (which consumers must tolerate anyway).
    """
    outcomes = await asyncio.gather(
        *(_until_settled(operation, batch, call, retry) for batch in batches),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _until_settled(
    operation: str, entries: list[_Entry], call: BatchCall[_Entry], retry: EntryRetry
) -> None:
    pending = entries
    for attempt in range(1, retry.attempts + 1):
        if attempt > 1:
            log.warning("SQS %s: %d entries failed; retrying them", operation, len(pending))
            await asyncio.sleep(retry.pause(attempt - 1))
        pending = _to_retry(operation, pending, await aws(call(pending)))
        if not pending:
            return
    raise BackendUnavailable(
        f"SQS {operation}: {len(pending)} entries still failing after {retry.attempts} calls"
    )


def _to_retry(operation: str, pending: list[_Entry], failed: Failures) -> list[_Entry]:
    """The entries to send again; raises for entries SQS blames on the sender."""
    by_id = {str(entry["Id"]): entry for entry in pending}
    again: list[_Entry] = []
    rejected: list[str] = []
    for failure in failed:
        code, message = short_code(failure["Code"]), failure.get("Message", "")
        if is_stale_receipt(code, message):
            continue
        if failure["SenderFault"] or failure["Id"] not in by_id:
            rejected.append(f"{code}: {message}"[:200])
        else:
            again.append(by_id[failure["Id"]])
    if rejected:
        raise SqsEntryRejected(f"SQS {operation} refused {len(rejected)} entries: {rejected[0]}")
    return again


def chunks(items: Sequence[_T]) -> list[list[_T]]:
    """Ten at a time."""
    return [list(items[i : i + MAX_ENTRIES]) for i in range(0, len(items), MAX_ENTRIES)]


def chunks_by_size(bodies: Sequence[str], max_bytes: int) -> list[list[str]]:
    """Ten at a time, and at most ``max_bytes`` of UTF-8 per chunk.

    Raises ``ValueError`` for a body that alone is over ``max_bytes``.
    """
    result: list[list[str]] = []
    current: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode("utf-8"))
        if length > max_bytes:
            raise ValueError(f"a message body of {length} bytes is over the {max_bytes}-byte limit")
        if current and (len(current) == MAX_ENTRIES or size + length > max_bytes):
            result.append(current)
            current, size = [], 0
        current.append(body)
        size += length
    if current:
        result.append(current)
    return result
