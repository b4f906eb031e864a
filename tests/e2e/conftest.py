"""One real embedded server per module, and an HTTP client that talks to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    with running_server(data_dir, env={"FILEGATE_BATCH_WINDOW_SECONDS": "0.2"}) as running:
        yield running


@pytest.fixture(scope="module")
def alice(server: RunningServer) -> str:
    return server.token(user="alice")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def object_files(data_dir: Path, file_id: str) -> list[Path]:
    """Every file under the data folder whose name mentions ``file_id`` (objects, temps)."""
    return [p for p in data_dir.rglob("*") if p.is_file() and file_id in p.name]
