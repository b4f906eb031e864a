"""Running a maintenance task every so often until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

log = logging.getLogger(__name__)


async def run_periodically(
    task: Callable[[], Awaitable[object]], interval: timedelta, stop: asyncio.Event
) -> None:
    """Run ``task`` now and then every ``interval`` until ``stop`` is set.

    A failing run is logged and the schedule goes on: maintenance must never kill a worker.
    """
    while not stop.is_set():
        try:
            await task()
        except Exception:
            log.exception("periodic task failed", extra={"task": getattr(task, "__qualname__", "")})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
