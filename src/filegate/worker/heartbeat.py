"""The heartbeat: keep the claim on messages still being processed, and only on those."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from filegate.domain.models import Message, VisibilityChange
from filegate.domain.ports import Queue

log = logging.getLogger(__name__)


class Heartbeat:
    """Extends the visibility of every tracked message by ``extension`` on each beat.

    A batch is tracked from :meth:`tracking`'s entry to its exit. Leaving waits for a beat in
    progress, so no extension lands after the batch has moved on to settle its messages
    (which would overwrite a retry's backoff). A failed beat is logged and the next one
    tries again; it never reaches the batches.
    """

    def __init__(self, queue: Queue, extension: timedelta) -> None:
        self._queue = queue
        self._extension = extension
        self._tracked: dict[int, Sequence[Message]] = {}
        self._lock = asyncio.Lock()
        self.beats = 0
        """Beats that reached the queue (for tests and metrics)."""

    @contextlib.asynccontextmanager
    async def tracking(self, batch: Sequence[Message]) -> AsyncIterator[None]:
        """Keep ``batch`` claimed while the block runs."""
        key = id(batch)
        self._tracked[key] = batch
        try:
            yield
        finally:
            async with self._lock:
                self._tracked.pop(key, None)

    async def run(self, interval: timedelta) -> None:
        """Beat every ``interval`` until cancelled."""
        failures = 0
        while True:
            await asyncio.sleep(interval.total_seconds())
            try:
                await asyncio.wait_for(self.beat(), interval.total_seconds())
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("heartbeat failed (%d in a row), retrying next beat: %r", failures, exc)

    async def beat(self) -> None:
        """Extend every tracked message's claim now, in one batched call."""
        async with self._lock:
            changes = [
                VisibilityChange(message.receipt, self._extension)
                for batch in self._tracked.values()
                for message in batch
            ]
            if changes:
                await self._queue.change_visibility_batch(changes)
                self.beats += 1
