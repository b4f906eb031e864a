"""The base ``filegate`` distribution (no extra) serves the embedded shape, and a URL that
needs an extra fails at start-up with a message naming it.

A real virtualenv without the extras: no module is hidden or faked.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import SECRET, free_port, stop
from tests.tooling.venvs import copy_source, fresh_venv, installed, pip_install

pytestmark = [pytest.mark.tooling, pytest.mark.e2e]

OPTIONAL = {
    "psycopg", "psycopg-binary", "aiobotocore", "botocore", "aiohttp", "boto3",
    "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http",
}  # fmt: skip
FIRST_START_TIMEOUT = 300.0
TOOLS = {"pytest", "mypy", "ruff", "moto", "playwright", "cfn-lint", "hypothesis"}


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``filegate`` command of a virtualenv holding the base distribution only."""
    root = tmp_path_factory.mktemp("lean")
    sources = root / "src"
    for part in ("client", "src", "pyproject.toml", "README.md"):
        copy_source(part, sources)
    python = fresh_venv(root / "venv")
    pip_install(python, str(sources / "client"), str(sources))
    yield python.with_name("filegate")


def _environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILEGATE_")}
    env.update({"FILEGATE_DATA_DIR": str(data_dir), "FILEGATE_SECRET": SECRET, **settings})
    return env


def _health_once_up(process: subprocess.Popen[bytes], url: str) -> int | None:
    """The status of ``url`` once the server answers; ``None`` if it exits or never does.

    A fresh venv's first start is slower than a warm one's (nothing is in the OS cache yet),
    and the machine may be loaded, hence a longer wait than the end-to-end suite's.
    """
    deadline = time.monotonic() + FIRST_START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=1).status_code
        except httpx.TransportError:
            time.sleep(0.1)
    return None


@pytest.mark.timeout(600)
def test_the_base_distribution_has_no_extra_and_no_tool(lean: Path) -> None:
    names = installed(lean.with_name("python"))

    assert {"filegate", "filegate-client", "fastapi", "sqlalchemy", "alembic"} <= names
    assert names & (OPTIONAL | TOOLS) == set()


@pytest.mark.timeout(600)
def test_the_base_distribution_serves_the_embedded_shape(lean: Path, tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = _environment(tmp_path / "data", FILEGATE_PORT=str(port))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(lean), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        status = _health_once_up(process, f"http://127.0.0.1:{port}/healthz")
    finally:
        stop(process)

    assert status == 200, f"exit code {process.returncode}:\n{log_path.read_text()}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("setting", "url", "extra"),
    [
        ("FILEGATE_STORE_URL", "s3://bucket/prefix", "aws"),
        ("FILEGATE_QUEUE_URL", "sqs://events", "aws"),
        ("FILEGATE_DATABASE_URL", "postgresql://filegate@127.0.0.1/filegate", "postgres"),
    ],
)
def test_a_url_needing_a_missing_extra_refuses_to_start_naming_it(
    lean: Path, tmp_path: Path, setting: str, url: str, extra: str
) -> None:
    env = _environment(tmp_path / "data", **{setting: url})
    result = subprocess.run(
        [str(lean), "serve"], env=env, capture_output=True, text=True, timeout=120
    )

    scheme = url.split(":", 1)[0]
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())  # rich wraps long lines
    assert f"{setting}={scheme}://... needs the {extra!r} extra" in message
    assert f"pip install 'filegate[{extra}]'" in message


@pytest.mark.timeout(600)
def test_tracing_without_the_otel_extra_refuses_to_start_naming_it(
    lean: Path, tmp_path: Path
) -> None:
    env = _environment(tmp_path / "data", FILEGATE_TRACING="otlp")
    result = subprocess.run(
        [str(lean), "serve"], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "FILEGATE_TRACING=otlp needs the 'otel' extra" in message
    assert "pip install 'filegate[otel]'" in message


@pytest.mark.timeout(600)
@pytest.mark.parametrize("command", ["setup", "doctor"])
def test_provisioning_commands_name_the_aws_extra_they_need(
    lean: Path, tmp_path: Path, command: str
) -> None:
    env = _environment(tmp_path / "data")
    result = subprocess.run(
        [str(lean), command], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"filegate {command} needs the 'aws' extra" in message
    assert "pip install 'filegate[aws]'" in message
