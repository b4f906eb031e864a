"""``filegate sweep``: every sweep once for cron, sharing the workers' claims."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.server import filegate_command, process_env, run_command

SWEEPS = {"expiry", "sessions", "lifecycle", "reconcile"}


def migrated(tmp_path: Path) -> Path:
    """A deployment's data folder with its database created (``filegate migrate``)."""
    data = tmp_path / "data"
    data.mkdir()
    run_command(data, {}, "migrate")
    return data


def test_sweep_runs_each_sweep_once_then_skips_until_due_unless_forced(tmp_path: Path) -> None:
    data = migrated(tmp_path)
    first = json.loads(run_command(data, {}, "sweep", "--json"))
    assert set(first) >= SWEEPS - {"reconcile"} and set(first.values()) == {"ran"}
    again = json.loads(run_command(data, {}, "sweep", "--json"))
    assert set(again.values()) == {"not due"}
    forced = json.loads(run_command(data, {}, "sweep", "--json", "--force"))
    assert set(forced.values()) == {"ran"}


def test_sweep_prints_a_table_of_outcomes(tmp_path: Path) -> None:
    data = migrated(tmp_path)
    result = subprocess.run(
        [filegate_command(), "sweep"],
        env=process_env(data, {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "expiry" in result.stdout and "ran" in result.stdout
