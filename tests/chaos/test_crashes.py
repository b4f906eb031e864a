"""Processes killed (SIGKILL) while uploads are being committed and verified, embedded shape.

* The API (with its in-process worker) is killed at random moments while uploads commit,
  and restarted each time: every upload whose PUT got a 2xx reaches a final state (the
  transactional event or the reconciler, run here with a short grace, covers it); no
  object is left without a live row and no row stays ``uploaded``.
* A worker process is killed while it verifies: its messages come back after the
  visibility timeout (a short one here) and another worker finishes them; the recovery
  time is measured from the kill until every file then waiting is final.
"""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.chaos.harness import (
    FIGURES,
    FINAL,
    Load,
    account,
    final_states,
    history_faults,
    record_5xx,
)
from tests.e2e.server import (
    free_port,
    mint_token,
    start_process,
    stop,
    wait_for_log_line,
)
from tests.e2e.shapes import TEST_ENV
from tests.support.tcp_faults import wait_until

pytestmark = pytest.mark.e2e

API_KILLS = 6
WORKER_KILLS = 4
LOADS = 3
WORKER_ENV = {
    **TEST_ENV,
    # Claims of 6 s renewed by a heartbeat every 2 s: a killed worker's batch is free again
    # within 6 s of its last renewal (the defaults, 30 s and 10 s, give about 30 s).
    "FILEGATE_CLAIM_TIMEOUT_SECONDS": "6",
    "FILEGATE_HEARTBEAT_INTERVAL_SECONDS": "2",
    "FILEGATE_VISIBILITY_TIMEOUT_SECONDS": "10",
    "FILEGATE_RETRY_BASE_SECONDS": "0.5",
    "FILEGATE_RETRY_MAX_SECONDS": "4",
}
"""Recovery after a worker crash is the queue's alone here: the reconciler keeps its
defaults (it would otherwise requeue a stuck upload after a few seconds itself)."""
CRASH_ENV = {
    **WORKER_ENV,
    "FILEGATE_RECONCILE_INTERVAL_SECONDS": "2",
    "FILEGATE_RECONCILE_LOST_EVENT_AFTER_SECONDS": "3",
    "FILEGATE_RECONCILE_STUCK_AFTER_SECONDS": "5",
    "FILEGATE_RECONCILE_ORPHAN_GRACE_SECONDS": "5",
}


@contextmanager
def serving(
    data_dir: Path, env: Mapping[str, str], *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``filegate serve ARGS`` on the port ``env`` names until healthy; stopped at the end."""
    process, log_path = start_process(data_dir, env, "serve", *args)
    try:
        url = env["FILEGATE_PUBLIC_URL"]
        wait_until(lambda: _healthy(url) or process.poll() is not None, 60, "serve healthy")
        assert process.poll() is None, log_path.read_text(errors="replace")
        yield process
    finally:
        stop(process)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _environment(base: Mapping[str, str]) -> dict[str, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return {**base, "FILEGATE_PORT": str(port), "FILEGATE_PUBLIC_URL": url}


def _database(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "filegate.db", timeout=30)


def _states(data_dir: Path) -> dict[str, str]:
    with _database(data_dir) as db:
        return dict(db.execute("SELECT id, state FROM files").fetchall())


def _orphans(data_dir: Path, states: Mapping[str, str]) -> list[str]:
    """Objects (originals and their ``.thumb``/``.preview`` renditions) whose file has no
    row, or a row that is gone (deleted, expired)."""
    objects = data_dir / "objects"
    found = [p for p in objects.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return [
        str(p)
        for p in found
        if ".tmp" not in p.parts
        and states.get(p.name.split(".", 1)[0]) in (None, "deleted", "expired")
    ]


def test_api_killed_while_committing_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _environment(CRASH_ENV)
    url = env["FILEGATE_PUBLIC_URL"]
    rng = random.Random(10)
    accepted: list[str] = []
    recoveries: list[float] = []
    with serving(data_dir, env):
        token = mint_token(data_dir, env, "crash")
    for _ in range(API_KILLS):
        recovery, uploads = _one_life_then_kill(data_dir, env, token, rng.uniform(0.3, 2.0))
        recoveries.append(recovery)
        accepted += uploads
    FIGURES.kills += API_KILLS
    FIGURES.recovery_after_api_crash += recoveries
    FIGURES.scenarios.append("API SIGKILL while committing")

    with serving(data_dir, env), httpx.Client(timeout=30) as http:
        states = final_states(http, url, token, accepted, timeout=120)
        lost, stuck, _rejected = account(accepted, states)
        assert (lost, stuck) == (0, 0), {f: s for f, s in states.items() if s not in FINAL}
        # Past the reconciler's grace: nothing uploaded-but-unverified, no orphan object.
        grace = float(CRASH_ENV["FILEGATE_RECONCILE_ORPHAN_GRACE_SECONDS"]) + 2 * float(
            CRASH_ENV["FILEGATE_RECONCILE_INTERVAL_SECONDS"]
        )
        time.sleep(grace)
        wait_until(lambda: "uploaded" not in _states(data_dir).values(), 30, "none uploaded")
        all_states = _states(data_dir)
        assert _orphans(data_dir, all_states) == []
        assert list(all_states.values()).count("uploaded") == 0
    assert all(states[f] == "ready" for f in accepted)
    FIGURES.repaired_by_reconciler += _lost_events_recovered(data_dir.parent)
    assert history_faults(f"sqlite:///{data_dir / 'filegate.db'}", accepted) == []


def test_a_killed_worker_s_messages_are_finished_by_another(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _environment(WORKER_ENV)
    url = env["FILEGATE_PUBLIC_URL"]
    rng = random.Random(11)
    recoveries: list[float] = []
    with serving(data_dir, env, "--no-worker"), ExitStack() as stack:
        token = mint_token(data_dir, env, "crash")
        worker = _start_worker(data_dir, env, stack)
        with Load(url, token, client_timeout=10) as load:
            for _ in range(WORKER_KILLS):
                time.sleep(rng.uniform(0.5, 1.5))
                _await_a_claimed_message(data_dir)  # kill it while it holds a batch
                worker.kill()
                killed_at = time.monotonic()
                worker.wait()
                waiting = [f for f, s in _states(data_dir).items() if s == "uploaded"]
                worker = _start_worker(data_dir, env, stack)  # the replacement
                if waiting:  # a kill with nothing in flight says nothing of recovery
                    recoveries.append(_settle(data_dir, waiting, killed_at))
        record_5xx(load)
        with httpx.Client(timeout=30) as http:
            states = final_states(http, url, token, load.accepted, timeout=120)
    FIGURES.kills += WORKER_KILLS
    FIGURES.recovery_after_worker_crash += recoveries
    FIGURES.scenarios.append("worker SIGKILL while verifying")
    lost, stuck, rejected = account(load.accepted, states)
    assert (lost, stuck, rejected) == (0, 0, 0)
    assert history_faults(f"sqlite:///{data_dir / 'filegate.db'}", load.accepted) == []
    assert not [a for a in load.server_errors() if a.status == 500]
    assert recoveries, "no kill caught a message in flight"
    assert max(recoveries) <= 30


def _one_life_then_kill(
    data_dir: Path, env: Mapping[str, str], token: str, life: float
) -> tuple[float, list[str]]:
    """Start ``filegate serve``, load it, SIGKILL it ``life`` seconds after its first
    accepted upload; (seconds from start to that upload, the uploads accepted)."""
    url = env["FILEGATE_PUBLIC_URL"]
    started = time.monotonic()
    process, _log = start_process(data_dir, env, "serve")
    try:
        with ExitStack() as stack:
            loads = [stack.enter_context(Load(url, token, client_timeout=10)) for _ in range(LOADS)]

            def first_upload() -> list[float]:
                return [a.started for load in loads for a in load.successes_since(started)]

            wait_until(lambda: bool(first_upload()), 60, "an upload accepted")
            recovery = min(first_upload()) - started
            time.sleep(life)
            process.kill()
            process.wait()
    finally:
        stop(process)
    for load in loads:
        record_5xx(load)
        assert not [a for a in load.server_errors() if a.status == 500]
    return recovery, [f for load in loads for f in load.accepted]


def _lost_events_recovered(logs: Path) -> int:
    """Objects the reconciler found stored but not recorded (a kill between the two)."""
    found = re.compile(r'"lost_events_recovered": (\d+)')
    return sum(int(n) for log in logs.glob("serve-*.log") for n in found.findall(log.read_text()))


def _start_worker(
    data_dir: Path, env: Mapping[str, str], stack: ExitStack
) -> subprocess.Popen[bytes]:
    process, log_path = start_process(data_dir, env, "worker")
    stack.callback(stop, process)
    wait_for_log_line(process, log_path, "worker running")
    return process


def _await_a_claimed_message(data_dir: Path, timeout: float = 30) -> None:
    """Return as soon as the queue has a message claimed by a worker (polled every 5 ms)."""
    deadline = time.monotonic() + timeout
    query = "SELECT 1 FROM queue_messages WHERE receipt IS NOT NULL AND dead_reason IS NULL"
    with _database(data_dir) as db:
        while db.execute(query).fetchone() is None:
            assert time.monotonic() < deadline, "no message was ever claimed"
            time.sleep(0.005)


def _settle(data_dir: Path, waiting: list[str], since: float) -> float:
    """Seconds from ``since`` until every file in ``waiting`` is final."""

    def settled() -> bool:
        states = _states(data_dir)
        return all(states.get(f) in FINAL for f in waiting)

    wait_until(settled, 60, "the killed worker's files final")
    return time.monotonic() - since
