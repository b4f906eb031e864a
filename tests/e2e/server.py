"""Start the real ``filegate serve`` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
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

    def token(self, user: str) -> str:
        """A user's bearer token, minted by the real ``filegate token`` command."""
        return mint_token(self.data_dir, {}, user)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def mint_token(data_dir: Path, env: Mapping[str, str], user: str) -> str:
    """A user's bearer token from ``filegate token`` run with the servers' environment."""
    result = subprocess.run(
        [filegate_command(), "token", "--user", user],
        env=process_env(data_dir, env),
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout.strip()


def run_command(data_dir: Path, env: Mapping[str, str], *args: str) -> str:
    """Run ``filegate ARGS`` to completion with the servers' environment; its output."""
    result = subprocess.run(
        [filegate_command(), *args],
        env=process_env(data_dir, env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"filegate {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def filegate_command() -> str:
    return str(Path(sys.executable).with_name("filegate"))


def process_env(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a filegate process: ours, minus FILEGATE_*, plus these."""
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
    extra = {"FILEGATE_PORT": str(port), "FILEGATE_PUBLIC_URL": url, **(env or {})}
    process, log_path = start_process(data_dir, extra, "serve", *args)
    server = RunningServer(url, data_dir, process, log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        stop(process)


def start_process(
    data_dir: Path, env: Mapping[str, str], *args: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``filegate ARGS`` in the background, its output going to a log file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{args[0]}-{uuid.uuid4().hex[:8]}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [filegate_command(), *args],
            env=process_env(data_dir, env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, log_path


def wait_for_log_line(
    process: subprocess.Popen[bytes], log_path: Path, text: str, timeout: float = STARTUP_TIMEOUT
) -> None:
    """Wait until ``text`` is in the process's log; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while text not in log_path.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited:\n{log_path.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {text!r} in the log of {process.args!r}")
        time.sleep(0.1)


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
