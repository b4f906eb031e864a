"""The SDK is its own distribution: ``filegate-client`` installs alone, with httpx only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.tooling.venvs import copy_source, fresh_venv, installed, pip_install

pytestmark = pytest.mark.tooling

SERVER_DISTRIBUTIONS = {
    "filegate", "fastapi", "starlette", "uvicorn", "pydantic", "pydantic-settings",
    "sqlalchemy", "alembic", "psycopg", "pillow", "aiobotocore", "botocore",
    "typer", "rich", "pyjwt", "segno", "prometheus-client",
}  # fmt: skip


@pytest.mark.timeout(600)
def test_the_client_installs_by_path_without_any_server_package(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, str(copy_source("client", tmp_path / "src")))

    names = installed(python)
    assert {"filegate-client", "httpx"} <= names
    assert names & SERVER_DISTRIBUTIONS == set()
    probe = (
        "import importlib.util, filegate_client;"
        "print(filegate_client.Client.__name__, filegate_client.AsyncClient.__name__,"
        " importlib.util.find_spec('filegate'))"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    assert result.stdout.split() == ["Client", "AsyncClient", "None"], result.stderr
