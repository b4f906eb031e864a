"""The newest events of every owner, read once per wake-up for all of this process's streams.

Without it each stream read the log for itself after every commit that concerned its owner,
then once more before it waited again: reads grew with streams times commits (in the end-to-end
benchmark, two reads per file). The tail reads every owner's new events in one query when
events commit (the ``EVENTS`` wake-up, or a look every ``poll_seconds``), keeps the newest
``capacity`` of them in memory and answers every stream of this process from there. It runs
while streams follow and stops ``poll_seconds`` after the last one left.

**Why a stream answered from memory never skips an event.** The tail reads in the log's
order of visibility (:mod:`~filegate.adapters.sql.events`) and keeps two positions:

* ``position``: every event at or before it has been read, and none can still appear there;
* ``floor``: every event after the floor, up to ``position``, is in memory (the floor rises
  as the oldest events are dropped).

A cursor at or after the floor is answered from memory. A cursor before it is the caller's
to read from the log, up to the floor (a settled range), before it asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from filegate.adapters.sql.queue_signals import QueueSignals
from filegate.domain.events import StoredEvent

log = logging.getLogger(__name__)

Position = tuple[int, int]
"""A place in the log's order of visibility: ``(tx, seq)``."""


@dataclass(frozen=True)
class Entry:
    """An event and its position."""

    position: Position
    stored: StoredEvent


Page = tuple[list[Entry], Position]
"""Events read after a position, in order, and the position the read reached: the last
event's, or, when the read found fewer than it was allowed, the present horizon."""
ReadAfter = Callable[[Position, int], Awaitable[Page]]
"""Reads every owner's events after a position, at most the given number."""


class TailStopped(Exception):
    """The tail stopped (its read failed) while a stream waited on it: look again."""


class EventTail:
    """This process's shared, bounded memory of the newest events (see the module docstring).

    Everything here runs on the event loop; ``read_after`` does the database reads, and
    ``start`` the one that finds the present.
    """

    def __init__(
        self,
        start: Callable[[], Awaitable[Position]],
        read_after: ReadAfter,
        signals: QueueSignals,
        wakeup: str,
        *,
        capacity: int = 4096,
        page: int = 500,
        poll_seconds: float = 5.0,
    ) -> None:
        self._start = start
        self._read_after = read_after
        self._signals = signals
        self._wakeup = wakeup
        self._capacity = capacity
        self._page = page
        self._poll_seconds = poll_seconds
        self._entries: deque[Entry] = deque()
        self._by_owner: dict[str, deque[Entry]] = {}
        self._waiters: dict[str, asyncio.Event] = {}
        self._followers = 0
        self._left_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._running: asyncio.Future[Position] | None = None
        self._position: Position = (0, 0)
        self._floor: Position = (0, 0)

    @contextlib.asynccontextmanager
    async def following(self) -> AsyncIterator[None]:
        """Count a stream as following while inside (the tail runs while any does)."""
        self._followers += 1
        try:
            yield
        finally:
            self._followers -= 1
            self._left_at = time.monotonic()

    async def floor(self) -> Position:
        """The oldest position answered from memory, once the tail runs (it starts it)."""
        if self._task is None or self._task.done():
            self._running = asyncio.get_running_loop().create_future()
            self._task = asyncio.get_running_loop().create_task(self._run(self._running))
        assert self._running is not None
        await asyncio.shield(self._running)
        return self._floor

    def after(self, owner: str, position: Position, limit: int) -> list[StoredEvent] | None:
        """Up to ``limit`` of ``owner``'s events after ``position``, oldest first, from
        memory; ``None`` when ``position`` is now below the floor (the caller reads the log)."""
        if not self._holds(position):
            return None
        newer: list[StoredEvent] = []
        for entry in reversed(self._by_owner.get(owner, ())):
            if entry.position <= position:
                break
            newer.append(entry.stored)
        newer.reverse()
        return newer[:limit]

    async def wait(self, owner: str, seconds: float) -> None:
        """Until the tail holds new events of ``owner``, or ``seconds`` passed. Raises
        :class:`TailStopped` when the tail stopped meanwhile."""
        waiter = self._waiters.get(owner)
        if waiter is None:
            waiter = self._waiters[owner] = asyncio.Event()
        running = self._task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await waiter.wait()
        if running is not self._task or running is None or running.done():
            raise TailStopped

    async def close(self) -> None:
        """Stop the tail (at shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _holds(self, position: Position) -> bool:
        task, running = self._task, self._running
        if task is None or task.done() or running is None or not running.done():
            return False
        return running.exception() is None and position >= self._floor

    async def _run(self, running: asyncio.Future[Position]) -> None:
        try:
            self._position = self._floor = await self._start()
        except asyncio.CancelledError:
            running.cancel()
            raise
        except Exception as exc:  # the waiting streams raise it
            running.set_exception(exc)
            return
        running.set_result(self._position)
        try:
            await self._follow_log()
        except Exception as exc:  # a failed read (the database is unavailable)
            log.warning("event tail stopped: %s", exc)
        finally:
            self._forget()

    async def _follow_log(self) -> None:
        while True:
            ticket = self._signals.ticket(self._wakeup)
            await self._read_new()
            await self._signals.wait(ticket, self._poll_seconds)
            idle = time.monotonic() - self._left_at >= self._poll_seconds
            if self._followers == 0 and idle:
                return

    async def _read_new(self) -> None:
        while True:
            entries, reached = await self._read_after(self._position, self._page)
            self._append(entries)
            self._position = max(self._position, reached)
            if len(entries) < self._page:
                return

    def _append(self, entries: list[Entry]) -> None:
        owners: set[str] = set()
        for entry in entries:
            owner = entry.stored.event.owner
            self._entries.append(entry)
            self._by_owner.setdefault(owner, deque()).append(entry)
            owners.add(owner)
        while len(self._entries) > self._capacity:
            self._drop_oldest()
        for owner in owners:
            waiter = self._waiters.pop(owner, None)
            if waiter is not None:
                waiter.set()

    def _drop_oldest(self) -> None:
        oldest = self._entries.popleft()
        owner = oldest.stored.event.owner
        of_owner = self._by_owner[owner]
        of_owner.popleft()
        if not of_owner:
            del self._by_owner[owner]
        self._floor = oldest.position

    def _forget(self) -> None:
        """Empty the memory and wake every waiter (the tail no longer runs)."""
        self._entries.clear()
        self._by_owner.clear()
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.set()
