"""End to end, distributed shape: the operator commands against the live deployment."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.server import filegate_command, process_env, run_command
from tests.e2e.shapes import Distributed

pytestmark = pytest.mark.e2e


def test_doctor_passes_on_the_provisioned_deployment(distributed: Distributed) -> None:
    output = run_command(distributed.data_dir, distributed.env, "doctor")
    assert "FAIL" not in output
    for check in ("database", "redrive policy", "queue policy", "events of bucket"):
        assert check in output


def test_doctor_exits_non_zero_and_says_why(distributed: Distributed) -> None:
    env = {**distributed.env, "FILEGATE_QUEUE_URL": "sqs://no-such-queue?" + _aws(distributed)}
    result = subprocess.run(
        [filegate_command(), "doctor"],
        env=process_env(distributed.data_dir, env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "no-such-queue" in result.stdout
    assert "does not exist" in result.stdout


def _aws(distributed: Distributed) -> str:
    return distributed.env["FILEGATE_QUEUE_URL"].split("?", 1)[1]
