"""The real ``filegate`` binary run as a user would from a script: stdout and stderr pipes.

No terminal, no ``COLUMNS``: what a new user gets with ``filegate files ls | cat``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind
from tests.e2e.server import SECRET, RunningServer, filegate_command
from tests.support import images

T = TypeVar("T")
_TERMINAL_HINTS = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
"""Variables that would make rich size or colour its output as if on a terminal."""


def pipe_env(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """Our environment without FILEGATE_* and terminal hints, plus the server's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FILEGATE_") and k not in _TERMINAL_HINTS
    }
    env.update({"FILEGATE_DATA_DIR": str(data_dir), "FILEGATE_SECRET": SECRET, **extra})
    return env


def run_filegate(
    env: Mapping[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``filegate ARGS`` to completion, its stdin, stdout and stderr pipes."""
    return subprocess.run(
        [filegate_command(), *args],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


class Cli:
    """Runs ``filegate`` as a user (with a token of their own) next to the server."""

    def __init__(self, server: RunningServer, user: str) -> None:
        self.server = server
        token = TokenAuthority(SECRET, SystemClock()).mint(
            Owner(OwnerKind.USER, user), timedelta(hours=1)
        )
        self.env = {"FILEGATE_URL": server.url, "FILEGATE_TOKEN": token}

    def __call__(
        self, *args: str, stdin: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = pipe_env(self.server.data_dir, self.env)
        return run_filegate(env, *args, stdin=stdin, cwd=cwd)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def rows(stdout: str) -> list[list[str]]:
    """The tab-separated rows of a command's output without a terminal."""
    return [line.split("\t") for line in stdout.splitlines()]


def eventually(probe: Callable[[], T | None], timeout: float = 30) -> T:
    """The first truthy answer of ``probe``, asked every 0.2 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError("the condition never held")


def photo_folder(root: Path) -> Path:
    folder = root / "photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(images.jpeg_bytes(640, 480))
    (folder / "boat.png").write_bytes(images.png_bytes(320, 200))
    (folder / "broken.jpg").write_bytes(images.corrupt_jpeg())
    (folder / ".DS_Store").write_bytes(b"hidden files are skipped")
    return folder


def long_name_folder(root: Path) -> Path:
    """A folder deep enough, with names long enough, that an 80-column table would wrap."""
    folder = root / ("a-folder-with-a-rather-long-name-" * 2) / "holiday-2026"
    folder.mkdir(parents=True)
    return folder
