"""End to end: the real processes stop cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import running_server, start_process

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_exits_zero_on_a_stop_signal(tmp_path: Path, sig: signal.Signals) -> None:
    with running_server(tmp_path / "data") as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        server.process.send_signal(sig)
        assert server.process.wait(timeout=30) == 0


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, f"no {text!r} in the log"
        time.sleep(0.1)


def test_worker_exits_zero_on_sigterm(tmp_path: Path) -> None:
    process, log = start_process(tmp_path / "data", {"FILEGATE_DEV": "true"}, "worker")
    try:
        _wait_for_line(log, "worker running", process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
