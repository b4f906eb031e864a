"""The SDK's flows, driven by scripted answers: the decisions no live server makes on cue
(a store that loses a part mid-way, a write-once store refusing a retried PUT)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import httpx
import pytest

from filegate_client import _flows as flows
from filegate_client._calls import Call
from filegate_client._sources import MemoryBlob, PreparedSource
from filegate_client.errors import FilegateConnectionError, PermissionDeniedError
from filegate_client.models import Declaration, File, FileState
from filegate_client.progress import UploadPhase

T = TypeVar("T")
DATA = b"0123456789"  # three parts of 4 bytes: 4 + 4 + 2
FILE_ID = "f1"
PARTS = f"/v1/files/{FILE_ID}/parts"

Answer = httpx.Response | Exception
Script = list[tuple[str, str, Answer]]


def file_json(state: str = "registered", **extra: Any) -> dict[str, Any]:
    at = "2026-01-02T03:04:05Z"
    return {
        "id": FILE_ID, "state": state, "reason": None, "filename": "a.jpg",
        "content_type": "image/jpeg", "size": len(DATA), "sha256": None, "image": None,
        "metadata": {}, "created_at": at, "updated_at": at, "upload_expires_at": at, **extra,
    }  # fmt: skip


def single_upload(url: str = "http://store/obj") -> dict[str, Any]:
    headers = {"Content-Type": "image/jpeg"}
    return {"method": "PUT", "url": url, "headers": headers, "expires_at": "2026-01-02T04:00:00Z"}


def multipart_upload() -> dict[str, Any]:
    return {
        "method": "MULTIPART", "url": PARTS, "headers": {},
        "expires_at": "2026-01-02T04:00:00Z", "part_size": 4, "part_count": 3,
    }  # fmt: skip


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "http://api.test/")
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def stored(*numbers: int) -> httpx.Response:
    sizes = {1: 4, 2: 4, 3: 2}
    return answer(
        200, {"parts": [{"number": n, "etag": f"e{n}", "size": sizes[n]} for n in numbers]}
    )


def part_urls(*numbers: int) -> httpx.Response:
    urls = [{"number": n, "url": f"http://store/part{n}", "headers": {}} for n in numbers]
    return answer(200, {"parts": urls})


def drive(flow: Generator[Call, httpx.Response, T], script: Script) -> tuple[T, list[Call]]:
    """Answer each call of ``flow`` with the next scripted answer (checking method and URL)."""
    calls: list[Call] = []
    try:
        call = next(flow)
        while True:
            calls.append(call)
            method, url, outcome = script.pop(0)
            assert (call.method, call.url) == (method, url)
            if isinstance(outcome, Exception):
                call = flow.throw(outcome)
                continue
            if call.body is not None:  # as a client does while it streams the body
                call.body.on_sent(call.body.length)
            call = flow.send(outcome)
    except StopIteration as stop:
        assert script == [], "calls the flow did not make"
        return stop.value, calls


def prepared() -> PreparedSource:
    return PreparedSource(MemoryBlob(DATA), Declaration("a.jpg", "image/jpeg", len(DATA)))


def upload(script: Script, reports: list[tuple[UploadPhase, int, int]] | None = None) -> File:
    seen = reports if reports is not None else []
    flow = flows.upload(
        prepared(), "key-1", flows.UploadOptions(), lambda *event: seen.append(event)
    )
    result, _ = drive(flow, script)
    return result


def test_a_registration_answered_with_a_ready_file_uploads_nothing() -> None:
    ready = file_json("ready", deduplicated=True)

    file = upload([("POST", "/v1/files", answer(201, ready))])

    assert (file.state, file.deduplicated) == (FileState.READY, True)


def test_a_put_refused_as_already_uploaded_counts_as_stored() -> None:
    refused = answer(409, {"status": 409, "code": "ALREADY_UPLOADED", "detail": "once"})

    file = upload(
        [
            ("POST", "/v1/files", answer(201, file_json(upload=single_upload()))),
            ("PUT", "http://store/obj", refused),
            ("POST", f"/v1/files/{FILE_ID}/complete", answer(202, file_json("uploaded"))),
        ]
    )

    assert file.state is FileState.UPLOADED


def test_an_upload_url_that_keeps_expiring_is_an_error_after_the_refreshes() -> None:
    expired = answer(403, {"status": 403, "code": "URL_EXPIRED", "detail": "expired"})
    fresh = answer(200, {"upload": single_upload()})
    script: Script = [("POST", "/v1/files", answer(201, file_json(upload=single_upload())))]
    script += [("PUT", "http://store/obj", expired)]
    for _ in range(flows.URL_REFRESHES):
        script += [("POST", f"/v1/files/{FILE_ID}/upload-url", fresh)]
        script += [("PUT", "http://store/obj", expired)]

    with pytest.raises(PermissionDeniedError) as caught:
        upload(script)

    assert caught.value.code == "URL_EXPIRED"


def test_multipart_resumes_from_the_stored_parts_after_a_failed_part() -> None:
    reports: list[tuple[UploadPhase, int, int]] = []
    lost = FilegateConnectionError("connection reset")

    file = upload(
        [
            ("POST", "/v1/files", answer(201, file_json(upload=multipart_upload()))),
            ("GET", PARTS, stored(1)),  # an earlier run stored part 1
            ("POST", PARTS, part_urls(2, 3)),
            ("PUT", "http://store/part2", answer(200, headers={"ETag": "e2"})),
            ("PUT", "http://store/part3", lost),
            ("GET", PARTS, stored(1, 2)),
            ("POST", PARTS, part_urls(3)),
            ("PUT", "http://store/part3", answer(200, headers={"ETag": "e3"})),
            ("GET", PARTS, stored(1, 2, 3)),
            ("POST", f"{PARTS}/complete", answer(202, file_json("uploaded"))),
        ],
        reports,
    )

    assert file.state is FileState.UPLOADED
    uploading = [done for phase, done, _ in reports if phase is UploadPhase.UPLOADING]
    assert uploading[0] == 4 and uploading[-1] == len(DATA)


def test_multipart_sends_each_part_s_own_bytes_and_completes_with_the_stored_etags() -> None:
    flow = flows.send_bytes(
        File.from_json(file_json(upload=multipart_upload())), MemoryBlob(DATA), lambda *_: None
    )
    script: Script = [
        ("GET", PARTS, stored()),
        ("POST", PARTS, part_urls(1, 2, 3)),
        ("PUT", "http://store/part1", answer(200)),
        ("PUT", "http://store/part2", answer(200)),
        ("PUT", "http://store/part3", answer(200)),
        ("GET", PARTS, stored(1, 2, 3)),
        ("POST", f"{PARTS}/complete", answer(202, file_json("uploaded"))),
    ]

    _, calls = drive(flow, script)

    bodies = [b"".join(c.body.blob.chunks(c.body.offset, c.body.length)) for c in calls if c.body]
    assert bodies == [b"0123", b"4567", b"89"]
    assert calls[-1].json == {"parts": [{"number": n, "etag": f"e{n}"} for n in (1, 2, 3)]}
    assert all(c.signed for c in calls if c.method == "PUT")
