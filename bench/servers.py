"""HTTP servers for the benchmarks, each in its own process on a free loopback port.

A server process gets a core of its own (these machines have two), so the load generator
in the benchmark process does not share a GIL with it. Filegate runs as the real
``filegate serve``; baselines run under uvicorn's command line with the options
``filegate serve`` gives uvicorn (default loop and HTTP parser, lifespan off, log level
warning).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: ``command`` with ``{port}`` to fill in, extra environment."""

    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


def filegate_serve(data_dir: Path, secret: str, database_url: str = "") -> ServerSpec:
    """The real ``filegate serve``, API only (no worker), with a local store and SQL queue.

    The database is ``database_url`` (already migrated), or the embedded SQLite file in
    ``data_dir`` when it is empty.
    """
    executable = str(Path(sys.executable).with_name("filegate"))
    command = [executable, "serve", "--no-worker", "--host", "127.0.0.1", "--port", "{port}"]
    env = {"FILEGATE_DATA_DIR": str(data_dir), "FILEGATE_SECRET": secret}
    if database_url:
        env["FILEGATE_DATABASE_URL"] = database_url
    return ServerSpec(command, env)


def uvicorn_factory(factory: str, env: Mapping[str, str] | None = None) -> ServerSpec:
    """uvicorn serving the app that ``factory`` (``module:function``) returns."""
    command = [
        *(sys.executable, "-m", "uvicorn", factory, "--factory"),
        *("--host", "127.0.0.1", "--port", "{port}"),
        *("--lifespan", "off", "--log-level", "warning"),
    ]
    return ServerSpec(command, env or {})


@dataclass(frozen=True)
class _Started:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def running(*specs: ServerSpec, log_dir: Path) -> Iterator[list[str]]:
    """Start every server at once, wait until each answers HTTP; yield their base URLs.

    On exit all get SIGTERM together (a graceful stop), then SIGKILL if they linger.
    """
    started: list[_Started] = []
    try:
        for spec in specs:
            started.append(_start(spec, log_dir))
        for server in started:
            _wait_until_answering(server)
        yield [server.url for server in started]
    finally:
        _stop([server.process for server in started])


def _start(spec: ServerSpec, log_dir: Path) -> _Started:
    port = free_port()
    log = log_dir / f"server-{port}.log"
    command = [part.replace("{port}", str(port)) for part in spec.command]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=_environment(spec.env), stdout=out, stderr=out
        )
    return _Started(f"http://127.0.0.1:{port}", process, log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    # Settings of the caller's own filegate must not leak into the measured servers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILEGATE_")}
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": pythonpath, **extra}


def _wait_until_answering(server: _Started) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{_tail(server.log)}")
        try:
            httpx.get(server.url, timeout=1)  # any HTTP answer, even 404, means it serves
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"server did not answer in time:\n{_tail(server.log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    running_ones = [process for process in processes if process.poll() is None]
    for process in running_ones:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in running_ones:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
