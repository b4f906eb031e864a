"""A full disk under the embedded shape: a small tmpfs holds the store, then the database.

The PUT that does not fit is 507 ``STORAGE_FULL`` (problem+json) with nothing left behind
(no temporary file, no object) and the file still REGISTERED; the same signed URL works once
space returns. A database on the full disk answers 503 ``UNAVAILABLE``, never a 500.
Needs ``mount -t tmpfs`` (root): skipped where it is refused, failed under CI=true.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.chaos.harness import FIGURES
from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.server import running_server
from tests.e2e.shapes import TEST_ENV
from tests.services import require

pytestmark = pytest.mark.e2e

TMPFS_SIZE = 2 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, mounted for the test."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)]
    try:
        mounted = subprocess.run(command, capture_output=True, text=True, check=False)
        ok, why = mounted.returncode == 0, mounted.stderr.strip()
    except OSError as exc:
        ok, why = False, str(exc)
    require("a tmpfs mount (root)", ok, why)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def noise_jpeg(side: int) -> bytes:
    """A JPEG that hardly compresses (random pixels): about 2.5 bytes per pixel."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def fill(disk: Path, leave: int) -> Path:
    """Write a filler file until only about ``leave`` bytes are free on ``disk``."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


def test_a_put_that_does_not_fit_is_507_and_leaves_nothing(
    tmp_path: Path, small_disk: Path
) -> None:
    store = small_disk / "objects"
    data = noise_jpeg(500)
    assert len(data) > 200_000
    with (
        running_server(
            tmp_path / "data", env={**TEST_ENV, "FILEGATE_STORE_URL": f"file://{store}"}
        ) as server,
        httpx.Client(timeout=30) as http,
    ):
        token = server.token("disk")
        filler = fill(small_disk, leave=100_000)
        file = register(http, server.url, token, data)
        refused = upload(http, file, data)
        FIGURES.faults += 1
        FIGURES.status_5xx[refused.status_code] += 1

        assert refused.status_code == 507, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "STORAGE_FULL"
        assert list((store / ".tmp").iterdir()) == []
        assert [p for p in store.rglob("*") if p.is_file() and file["id"] in str(p)] == []
        state = http.get(f"{server.url}/v1/files/{file['id']}", headers=auth(token))
        assert state.json()["state"] == "registered"

        filler.unlink()
        assert upload(http, file, data).status_code == 200
        assert wait_final(http, server.url, token, file["id"])["state"] == "ready"
    FIGURES.files += 1
    FIGURES.scenarios.append("store disk full")


def test_the_database_on_a_full_disk_is_503_not_500(tmp_path: Path, small_disk: Path) -> None:
    data_dir = small_disk / "data"
    with (
        running_server(data_dir, env={**TEST_ENV}) as server,
        httpx.Client(timeout=30) as http,
    ):
        token = server.token("disk")
        body = {"filename": "x.jpg", "content_type": "image/jpeg", "size": 1000}
        filler = fill(small_disk, leave=0)
        statuses = [
            http.post(f"{server.url}/v1/files", json=body, headers=auth(token)) for _ in range(60)
        ]
        filler.unlink()
        after = http.post(f"{server.url}/v1/files", json=body, headers=auth(token))
    FIGURES.faults += 1
    FIGURES.scenarios.append("database disk full")
    for response in statuses:
        FIGURES.status_5xx.update([response.status_code] if response.status_code >= 500 else [])
    codes = {(r.status_code, r.json().get("code")) for r in statuses if r.status_code != 201}
    assert codes == {(503, "UNAVAILABLE")}, [r.text for r in statuses]
    assert all(r.headers.get("retry-after") for r in statuses if r.status_code == 503)
    assert after.status_code == 201, after.text
