"""The worker loop: receive a batch, process it, settle it; stop gracefully on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from filegate.domain.errors import BackendUnavailable
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.models import Message, VisibilityChange
from filegate.domain.ports import Queue
from filegate.worker.batch import Processor
from filegate.worker.heartbeat import Heartbeat
from filegate.worker.retry import RetryPolicy
from filegate.worker.settlement import settle

log = logging.getLogger(__name__)

SQS_MAX_BATCH = 10
"""SQS returns at most ten messages per receive."""

DEFAULT_RECEIVE_BACKOFF = RetryPolicy(base=timedelta(milliseconds=100), cap=timedelta(seconds=5))

_UNWIND_SECONDS = 1.0  # how long a cancelled batch gets to unwind before its messages go back


@dataclass(frozen=True)
class ConsumerConfig:
    """How the loop receives and how it stops.

    ``batch_window`` works like Lambda's MaximumBatchingWindowInSeconds: once a first
    message arrives, gather up to ``batch_size`` messages for at most this long. An idle
    loop long-polls for ``poll_wait`` at a time, which also bounds how long a stop waits for
    a receive in progress. ``concurrency`` batches are processed at once; on stop they get
    ``shutdown_grace`` to finish. Failed receives back off by ``receive_backoff``.

    Messages are claimed for ``visibility_timeout``. While a batch is still being processed,
    a heartbeat every ``heartbeat_interval`` extends the claim of every message in progress
    by ``visibility_timeout`` again, in one batched call, so a crashed worker's messages
    come back within about ``visibility_timeout`` while a slow batch keeps its own. ``None``
    turns the heartbeat off (the claim must then outlast the slowest batch).
    """

    batch_size: int = SQS_MAX_BATCH
    batch_window: timedelta = timedelta(milliseconds=100)
    visibility_timeout: timedelta = timedelta(seconds=120)
    concurrency: int = 2
    shutdown_grace: timedelta = timedelta(seconds=30)
    poll_wait: timedelta = timedelta(seconds=1)
    receive_backoff: RetryPolicy = DEFAULT_RECEIVE_BACKOFF
    heartbeat_interval: timedelta | None = None

    def __post_init__(self) -> None:
        beat = self.heartbeat_interval
        if beat is not None and not timedelta(0) < beat < self.visibility_timeout:
            raise ValueError("heartbeat_interval must be positive and below visibility_timeout")
        if not 1 <= self.batch_size <= SQS_MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {SQS_MAX_BATCH}")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.poll_wait <= timedelta(0):
            raise ValueError("poll_wait must be positive (an idle loop would spin)")
        if min(self.batch_window, self.visibility_timeout, self.shutdown_grace) < timedelta(0):
            raise ValueError("durations must not be negative")


_InFlight = dict["asyncio.Task[None]", Sequence[Message]]


class Consumer:
    """Feeds batches from ``queue`` to ``processor`` until stopped.

    At most ``config.concurrency`` batches are in flight. Receive failures never end the
    loop: it backs off and tries again.
    """

    def __init__(
        self,
        queue: Queue,
        processor: Processor,
        config: ConsumerConfig,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._queue = queue
        self._processor = processor
        self._config = config
        self._metrics = metrics
        self._heartbeat = Heartbeat(queue, config.visibility_timeout)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down gracefully.

        On stop: receive no more; give in-flight batches ``shutdown_grace`` to finish; then
        cancel the rest and release their messages (visible again at once) so another
        worker can take them. Cancelling ``run`` itself releases in-flight messages too.
        """
        in_flight: _InFlight = {}
        stopped = asyncio.create_task(_until(stop))
        beating = self._start_heartbeat()
        try:
            await self._feed(stop, stopped, in_flight)
            if in_flight:
                await asyncio.wait(
                    list(in_flight), timeout=self._config.shutdown_grace.total_seconds()
                )
        finally:
            stopped.cancel()
            if beating is not None:
                beating.cancel()
            await self._abandon(dict(in_flight))

    def _start_heartbeat(self) -> asyncio.Task[None] | None:
        interval = self._config.heartbeat_interval
        if interval is None:
            return None
        return asyncio.create_task(self._heartbeat.run(interval))

    async def _feed(
        self, stop: asyncio.Event, stopped: asyncio.Task[None], in_flight: _InFlight
    ) -> None:
        receive_failures = 0
        while not stop.is_set():
            if len(in_flight) >= self._config.concurrency:
                await asyncio.wait([*in_flight, stopped], return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                batch = await self._gather(stop)
            except Exception as exc:
                receive_failures += 1
                _log_receive_failure(exc, receive_failures)
                await _pause(
                    stop, self._config.receive_backoff.delay(receive_failures, random.random)
                )
                continue
            receive_failures = 0
            if batch and stop.is_set():
                await self._release(batch)
            elif batch:
                self._start(batch, in_flight)

    async def _gather(self, stop: asyncio.Event) -> list[Message]:
        """Up to ``batch_size`` messages: long-poll for the first, then fill the window."""
        config = self._config
        batch = await self._queue.receive(
            config.batch_size, config.visibility_timeout, config.poll_wait
        )
        if not batch:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.batch_window.total_seconds()
        while len(batch) < config.batch_size and not stop.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch += await self._queue.receive(
                    config.batch_size - len(batch),
                    config.visibility_timeout,
                    timedelta(seconds=remaining),
                )
            except Exception:
                # Keep what is claimed: the next receive will back off if the fault persists.
                log.warning("receive failed while filling a batch", exc_info=True)
                break
        return batch

    def _start(self, batch: Sequence[Message], in_flight: _InFlight) -> None:
        task = asyncio.create_task(self._work(batch))
        in_flight[task] = batch
        task.add_done_callback(lambda done: in_flight.pop(done, None))

    async def _work(self, batch: Sequence[Message]) -> None:
        try:
            async with self._heartbeat.tracking(batch):
                result = await self._processor.process(batch)
            await settle(self._queue, result, self._metrics)
        except Exception:
            log.exception(
                "batch of %d failed; its messages come back after their timeout", len(batch)
            )

    async def _abandon(self, in_flight: _InFlight) -> None:
        """Cancel unfinished batches, then make their messages visible again at once."""
        cancelled = {task: batch for task, batch in in_flight.items() if task.cancel()}
        if not cancelled:
            return
        log.warning("shutdown grace over: releasing %d unfinished batch(es)", len(cancelled))
        await asyncio.wait(list(cancelled), timeout=_UNWIND_SECONDS)
        await asyncio.gather(*(self._release(batch) for batch in cancelled.values()))

    async def _release(self, batch: Sequence[Message]) -> None:
        """Make the batch visible again at once, in one call; on failure the messages
        return after their visibility timeout instead."""
        changes = [VisibilityChange(message.receipt, timedelta(0)) for message in batch]
        try:
            await self._queue.change_visibility_batch(changes)
        except Exception:
            log.warning(
                "could not release %d messages; they return after their timeout",
                len(changes),
                exc_info=True,
            )


def _log_receive_failure(exc: Exception, failures: int) -> None:
    if isinstance(exc, BackendUnavailable):
        log.warning("queue unavailable (%d in a row): %s", failures, exc)
    else:
        log.exception("receive failed unexpectedly (%d in a row)", failures)


async def _until(stop: asyncio.Event) -> None:
    await stop.wait()


async def _pause(stop: asyncio.Event, delay: timedelta) -> None:
    """Sleep for ``delay``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay.total_seconds())


def install_signal_handlers(stop: asyncio.Event) -> None:
    """Make SIGTERM and SIGINT set ``stop``. Call from the running loop (Unix only)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
