"""Start the real ``filegate serve`` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SECRET = "e2e-secret-that-is-long-enough-to-pass"
STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunningServer:
    """A live server: its base URL, data folder and process."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def token(self, user: str | None = None, session: str | None = None) -> str:
        """A bearer token minted by the real ``filegate token`` command."""
        flag = ["--user", user] if user else ["--session", str(session)]
        result = subprocess.run(
            [_filegate(), "token", *flag],
            env=_env(self.data_dir, {}),
            capture_output=True,
            check=True,
            text=True,
        )
        return result.stdout.strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _filegate() -> str:
    return str(Path(sys.executable).with_name("filegate"))


def _env(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILEGATE_")}
    env.update({"FILEGATE_DATA_DIR": str(data_dir), "FILEGATE_SECRET": SECRET, **extra})
    return env


@contextmanager
def running_server(
    data_dir: Path, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[RunningServer]:
    """Run ``filegate serve`` until the block ends, then stop it with SIGTERM."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir.parent / f"server-{port}.log"
    extra = {"FILEGATE_PORT": str(port), "FILEGATE_PUBLIC_URL": url, **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_filegate(), "serve", *args],
            env=_env(data_dir, extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer(url, data_dir, process, log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM, then SIGKILL if it does not exit within ``timeout``; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _wait_until_healthy(server: RunningServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"filegate serve exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"filegate serve did not become healthy:\n{server.log()}")
