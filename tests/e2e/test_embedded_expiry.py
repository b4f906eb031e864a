"""End to end: registrations that never receive bytes expire, and late uploads leave nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from tests.e2e.flow import auth, register, upload
from tests.e2e.server import RunningServer, running_server
from tests.support import images

pytestmark = pytest.mark.e2e

WINDOW_SECONDS = 2


@pytest.fixture(scope="module")
def short_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        "FILEGATE_UPLOAD_WINDOW_SECONDS": str(WINDOW_SECONDS),
        "FILEGATE_EXPIRY_GRACE_SECONDS": "0",
        "FILEGATE_SWEEP_INTERVAL_SECONDS": "0.3",
    }
    with running_server(tmp_path_factory.mktemp("expiry") / "data", env=env) as running:
        yield running


def _state(http: httpx.Client, server: RunningServer, token: str, file_id: str) -> str:
    response = http.get(f"{server.url}/v1/files/{file_id}", headers=auth(token))
    state: str = response.json()["state"]
    return state


def test_unused_registration_expires_and_late_upload_is_refused(
    short_server: RunningServer,
) -> None:
    token = short_server.token(user="carol")
    data = images.jpeg_bytes()
    with httpx.Client(timeout=30) as http:
        file = register(http, short_server.url, token, data)
        deadline = time.monotonic() + 20
        while _state(http, short_server, token, file["id"]) != "expired":
            assert time.monotonic() < deadline, "the sweep never expired the file"
            time.sleep(0.2)

        late = upload(http, file, data)
        fresh = http.post(
            f"{short_server.url}/v1/files/{file['id']}/upload-url", headers=auth(token)
        )

    assert (late.status_code, late.json()["code"]) == (403, "URL_EXPIRED")
    assert (fresh.status_code, fresh.json()["code"]) == (409, "INVALID_STATE")
    leftovers = [p for p in short_server.data_dir.rglob("*") if file["id"] in p.name]
    assert leftovers == []


def test_upload_url_never_outlives_the_upload_window(short_server: RunningServer) -> None:
    token = short_server.token(user="carol")
    with httpx.Client(timeout=30) as http:
        file = register(http, short_server.url, token, images.jpeg_bytes())
    url_expiry = datetime.fromisoformat(file["upload"]["expires_at"])
    deadline = datetime.fromisoformat(file["upload_expires_at"])
    assert url_expiry <= deadline
    assert deadline - datetime.fromisoformat(file["created_at"]) == timedelta(
        seconds=WINDOW_SECONDS
    )
