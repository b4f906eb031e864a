"""What ``filegate`` says about itself without a terminal: its help, and the start-up line of
``serve`` in every mode and log format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import pipe_env, run_filegate
from tests.e2e.server import running_server
from tests.e2e.shapes import TEST_ENV

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "command", [(), ("serve",), ("upload",), ("files", "download"), ("dlq", "purge")]
)
def test_help_shows_flags_without_a_value_type(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run_filegate(pipe_env(tmp_path, {}), *command, "--help")

    assert result.returncode == 0, result.stderr
    assert "--help" in result.stdout and "Show this message and exit." in result.stdout
    assert "<bool>" not in result.stdout


@pytest.mark.parametrize(
    ("args", "role"),
    [
        ((), "API + worker"),
        (("--no-worker",), "API only; run workers elsewhere"),
        (("--dev",), "API + worker; dev mode"),
    ],
)
def test_serve_logs_one_json_start_up_line_with_its_url(
    tmp_path: Path, args: tuple[str, ...], role: str
) -> None:
    with running_server(tmp_path / "data", env=TEST_ENV, args=args) as server:
        log = server.log()

    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    [start] = [e for e in entries if e["message"].startswith("filegate serving at ")]
    assert start["message"] == f"filegate serving at {server.url} ({role})"
    assert (start["level"], start["url"]) == ("INFO", server.url)


def test_serve_logs_its_start_up_line_as_text_too(tmp_path: Path) -> None:
    env = {**TEST_ENV, "FILEGATE_LOG_FORMAT": "text"}
    with running_server(tmp_path / "data", env=env) as server:
        log = server.log()

    assert log.count("filegate serving at ") == 1
    assert f"filegate serving at {server.url} (API + worker)" in log
