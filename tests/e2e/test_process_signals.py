"""End to end: the real processes stop cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import running_server, start_process, wait_for_log_line

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_exits_zero_on_a_stop_signal(tmp_path: Path, sig: signal.Signals) -> None:
    with running_server(tmp_path / "data") as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        server.process.send_signal(sig)
        assert server.process.wait(timeout=30) == 0


def test_worker_exits_zero_on_sigterm(tmp_path: Path) -> None:
    process, log = start_process(tmp_path / "data", {"FILEGATE_DEV": "true"}, "worker")
    try:
        wait_for_log_line(process, log, "worker running")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
