"""Periodic maintenance: each sweep run once per interval across all workers.

Every worker wakes once per sweep interval and asks the shared claims (``SweepClaims``, a
row per sweep in the database) whether this interval's run is its to do; one worker gets
it, the others go back to sleep. There is no leader to elect or lose: a worker that dies
holds nothing, and the next interval's run goes to whichever worker asks first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from filegate.domain.errors import BackendUnavailable
from filegate.domain.ports import SweepClaims

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    """A periodic maintenance task and how often it runs (across all workers)."""

    name: str
    run: Callable[[], Awaitable[object]]
    interval: timedelta


def worker_name() -> str:
    """This process's name in the claims: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def run_periodically(
    sweep: Sweep, claims: SweepClaims, worker: str, stop: asyncio.Event
) -> None:
    """Every ``sweep.interval`` until ``stop`` is set, run ``sweep`` when this worker
    claims it. A failing run (or claim) is logged and the schedule goes on: maintenance must
    never kill a worker.
    """
    while not stop.is_set():
        await _run_if_claimed(sweep, claims, worker)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), sweep.interval.total_seconds())


class Outcome(StrEnum):
    """What became of one sweep's turn."""

    RAN = "ran"
    NOT_DUE = "not due"
    """Another worker has run it less than an interval ago."""
    FAILED = "failed"
    """The claim or the run raised (logged)."""


async def sweep_once(
    sweeps: Sequence[Sweep], claims: SweepClaims, worker: str, *, force: bool = False
) -> dict[str, Outcome]:
    """Run each sweep that this worker claims now (every one with ``force``); the outcome
    by name. For ``filegate sweep`` (cron) and the scheduled Lambda function. A failing
    sweep does not stop the others.
    """
    outcomes: dict[str, Outcome] = {}
    for sweep in sweeps:
        if force:
            outcomes[sweep.name] = await _run(sweep)
        else:
            outcomes[sweep.name] = await _run_if_claimed(sweep, claims, worker)
    return outcomes


async def _run_if_claimed(sweep: Sweep, claims: SweepClaims, worker: str) -> Outcome:
    try:
        claimed = await claims.claim(sweep.name, sweep.interval, worker)
    except BackendUnavailable as exc:  # expected while the database is away: no traceback
        log.warning("sweep claim failed: %s", exc, extra={"task": sweep.name})
        return Outcome.FAILED
    except Exception:
        log.exception("sweep claim failed", extra={"task": sweep.name})
        return Outcome.FAILED
    return await _run(sweep) if claimed else Outcome.NOT_DUE


async def _run(sweep: Sweep) -> Outcome:
    try:
        await sweep.run()
    except BackendUnavailable as exc:
        log.warning("periodic task failed: %s", exc, extra={"task": sweep.name})
        return Outcome.FAILED
    except Exception:
        log.exception("periodic task failed", extra={"task": sweep.name})
        return Outcome.FAILED
    return Outcome.RAN
