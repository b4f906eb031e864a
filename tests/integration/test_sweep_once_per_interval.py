"""Three workers on one database run each sweep about once per interval, not three times,
and the sweeps go on when one of them dies."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.sweep_claims import SqlSweepClaims
from filegate.aws_lambda import run_scheduled_sweeps
from filegate.config import Settings
from filegate.domain.clock import SystemClock
from filegate.domain.errors import BackendUnavailable
from filegate.worker.periodic import Outcome, Sweep, run_periodically, sweep_once

INTERVAL = timedelta(seconds=0.25)


async def test_three_workers_share_each_interval_and_survive_one_dying(sqlite_url: str) -> None:
    database = open_database(sqlite_url)
    claims = SqlSweepClaims(database, SystemClock())
    runs: list[str] = []

    def sweep_of(worker: str) -> Sweep:
        async def run() -> None:
            runs.append(worker)

        return Sweep("expiry", run, INTERVAL)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    workers = {
        name: asyncio.create_task(run_periodically(sweep_of(name), claims, name, stop))
        for name in ("a", "b", "c")
    }
    await asyncio.sleep(INTERVAL.total_seconds() * 6)
    workers["a"].cancel()  # the worker that ran first dies
    ran_before = len(runs)
    await asyncio.sleep(INTERVAL.total_seconds() * 6)
    stop.set()
    await asyncio.gather(*workers.values(), return_exceptions=True)
    intervals = (loop.time() - started) / INTERVAL.total_seconds()
    await database.dispose()
    assert len(runs) <= intervals + 2  # three workers, yet about one run per interval
    assert len(runs) >= intervals / 2
    assert len(runs) - ran_before >= 3  # after the death, the others carried on
    assert set(runs[ran_before:]) <= {"b", "c"}


async def test_sweep_once_runs_what_is_due_and_force_runs_everything(sqlite_url: str) -> None:
    database = open_database(sqlite_url)
    claims = SqlSweepClaims(database, SystemClock())
    ran: list[str] = []

    async def expiry() -> None:
        ran.append("expiry")

    async def broken() -> None:
        raise RuntimeError("boom")

    sweeps = [
        Sweep("expiry", expiry, timedelta(hours=1)),
        Sweep("broken", broken, timedelta(hours=1)),
    ]
    first = await sweep_once(sweeps, claims, "cron")
    assert first == {"expiry": Outcome.RAN, "broken": Outcome.FAILED}
    again = await sweep_once(sweeps, claims, "worker")
    assert again == {"expiry": Outcome.NOT_DUE, "broken": Outcome.NOT_DUE}
    forced = await sweep_once(sweeps, claims, "cron", force=True)
    assert forced["expiry"] is Outcome.RAN
    assert ran == ["expiry", "expiry"]
    await database.dispose()


async def test_the_scheduled_lambda_function_runs_the_sweeps_it_claims(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    first = await run_scheduled_sweeps(settings)
    assert {"expiry", "sessions", "lifecycle"} <= set(first)
    assert set(first.values()) == {"ran"}
    assert set((await run_scheduled_sweeps(settings)).values()) == {"not due"}


async def test_a_database_outage_fails_a_sweep_with_a_warning_not_an_error(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = open_database(sqlite_url)
    claims = SqlSweepClaims(database, SystemClock())

    async def unreachable() -> None:
        raise BackendUnavailable("database unavailable: OperationalError")

    sweeps = [Sweep("expiry", unreachable, timedelta(hours=1))]
    with caplog.at_level(logging.WARNING, logger="filegate.worker.periodic"):
        outcomes = await sweep_once(sweeps, claims, "worker", force=True)
    await database.dispose()

    assert outcomes == {"expiry": Outcome.FAILED}
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "database unavailable" in caplog.records[0].getMessage()
