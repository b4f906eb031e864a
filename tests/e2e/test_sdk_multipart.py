"""The SDK on the distributed shape: a large file goes to S3 in parts, and resumes."""

from __future__ import annotations

import hashlib
import io
import uuid

import httpx
import pytest

from filegate.client import Client, FileState, UploadPhase, UploadProgress
from tests.e2e.flow import auth
from tests.e2e.shapes import MULTIPART_THRESHOLD, Distributed
from tests.support import images

pytestmark = pytest.mark.e2e


def noise_png(side: int) -> bytes:
    """A PNG of random pixels, larger than the multipart threshold."""
    data = images.noise_png(side)
    assert len(data) > MULTIPART_THRESHOLD
    return data


def test_upload_sends_a_large_file_in_parts_and_resumes_an_interrupted_one(
    distributed: Distributed, http: httpx.Client
) -> None:
    token = distributed.token(user=f"sdk-{uuid.uuid4().hex[:8]}")
    whole, interrupted = noise_png(1800), noise_png(1700)
    events: list[UploadProgress] = []

    with Client(distributed.url, token) as client:
        file = client.upload(whole, wait=True, progress=events.append)
        copy = io.BytesIO()
        client.download(file.id, copy)

        registered = client.register(
            "big.png", "image/png", len(interrupted), hashlib.sha256(interrupted).hexdigest()
        )
        assert registered.upload is not None and registered.upload.is_multipart
        part_size = registered.upload.part_size or 0
        _upload_first_part_by_hand(http, distributed.url, token, registered.id, interrupted)
        resumed_events: list[UploadProgress] = []
        client.upload_to(registered, interrupted, progress=resumed_events.append)
        resumed = client.wait(registered.id, timeout=60)

    assert (file.state, file.image and file.image.width) == (FileState.READY, 1800)
    assert copy.getvalue() == whole
    sent = [e.done for e in events if e.phase is UploadPhase.UPLOADING]
    assert sent[-1] == len(whole)
    resumed_sent = [e.done for e in resumed_events if e.phase is UploadPhase.UPLOADING]
    assert resumed_sent[0] == part_size  # the stored part was not sent again
    assert (resumed.state, resumed.sha256) == (
        FileState.READY, hashlib.sha256(interrupted).hexdigest(),
    )  # fmt: skip


def _upload_first_part_by_hand(
    http: httpx.Client, base: str, token: str, file_id: str, data: bytes
) -> None:
    """What a client that crashed after its first part left behind."""
    parts = http.post(
        f"{base}/v1/files/{file_id}/parts", json={"part_numbers": [1]}, headers=auth(token)
    )
    [part] = parts.json()["parts"]
    size = int(part["headers"].get("Content-Length") or part["headers"]["content-length"])
    put = http.put(part["url"], headers=part["headers"], content=data[:size])
    assert put.status_code == 200, put.text
