"""The SDK's pure parts: retry decisions, sources, error parsing, and parity with the server."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from filegate.client import (
    ErrorCode,
    FileState,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SourceError,
    explain,
    sniff_content_type,
)
from filegate.domain import errors as server_errors
from filegate.domain.models import RejectionReason
from filegate.domain.states import FileState as ServerFileState
from filegate_client._retry import retry_after, retryable_error, retryable_status
from filegate_client._sources import prepare
from filegate_client.errors import api_error
from filegate_client.reasons import REASONS
from tests.support import images
from tests.support.streams import OneWayStream

# --- retries ---------------------------------------------------------------------------


def test_backoff_grows_exponentially_under_a_cap_with_jitter_below_it() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)

    ceilings = {1: 0.5, 2: 1.0, 3: 2.0, 4: 4.0, 8: 4.0}
    for failures, ceiling in ceilings.items():
        delays = [policy.delay(failures, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.01, max_retry_after=30)

    assert policy.delay(1, retry_after=12) == 12
    assert policy.delay(1, retry_after=300) == 30


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)

    def header(value: str) -> float | None:
        return retry_after(httpx.Response(503, headers={"Retry-After": value}), now)

    assert header("7") == 7
    assert header("Fri, 01 May 2026 12:00:10 GMT") == 10
    assert header("Fri, 01 May 2026 11:00:00 GMT") == 0
    assert header("soon") is None
    assert retry_after(httpx.Response(503)) is None


@pytest.mark.parametrize(
    ("status", "idempotent", "retried"),
    [(503, True, True), (500, True, True), (429, True, True), (404, True, False),
     (503, False, False), (429, False, True), (409, True, False)],
)  # fmt: skip
def test_which_answers_are_retried(status: int, idempotent: bool, retried: bool) -> None:
    assert retryable_status(status, idempotent) is retried


def test_a_request_that_may_have_arrived_is_repeated_only_when_idempotent() -> None:
    request = httpx.Request("POST", "http://x/")
    refused = httpx.ConnectError("refused", request=request)
    reset = httpx.RemoteProtocolError("reset", request=request)

    assert retryable_error(refused, idempotent=False)
    assert not retryable_error(reset, idempotent=False)
    assert retryable_error(reset, idempotent=True)


# --- sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "content_type"),
    [
        (images.jpeg_bytes, "image/jpeg"),
        (images.png_bytes, "image/png"),
        (images.webp_bytes, "image/webp"),
        (images.gif_bytes, "image/gif"),
        (images.tiff_bytes, "image/tiff"),
        (images.heic_bytes, "image/heic"),
        (images.avif_bytes, "image/avif"),
        (images.text_bytes, None),
    ],
)
def test_the_type_is_read_from_the_magic_bytes(
    factory: Callable[[], bytes], content_type: str | None
) -> None:
    assert sniff_content_type(factory()[:256]) == content_type


def test_a_stream_is_uploaded_from_its_current_position() -> None:
    data = images.png_bytes()
    stream = io.BytesIO(b"prefix" + data)
    stream.seek(6)

    source = prepare(stream)

    assert source.declaration.size == len(data)
    assert source.declaration.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(source.blob.chunks(0, len(data))) == data
    assert (source.declaration.content_type, source.declaration.filename) == (
        "image/png", "upload.png",
    )  # fmt: skip


def test_a_one_way_stream_is_spooled_and_can_be_read_twice() -> None:
    data = images.jpeg_bytes()
    source = prepare(io.BufferedReader(OneWayStream(data)))
    try:
        first = b"".join(source.blob.chunks(0, source.blob.size))
        again = b"".join(source.blob.chunks(0, source.blob.size))
    finally:
        source.close()

    assert first == again == data


def test_a_declared_type_and_name_win_over_the_guesses(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(images.text_bytes())

    guessed = prepare(path)
    declared = prepare(path, filename="x.jpg", content_type="image/jpeg", metadata={"a": 1})

    assert (guessed.declaration.filename, guessed.declaration.content_type) == (
        "notes.txt", "text/plain",
    )  # fmt: skip
    assert (declared.declaration.filename, declared.declaration.content_type) == (
        "x.jpg", "image/jpeg",
    )  # fmt: skip
    assert declared.declaration.metadata == {"a": 1}


def test_a_missing_path_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        prepare(tmp_path / "nope.jpg")
    assert caught.value.code == "UNREADABLE_SOURCE"


# --- errors ----------------------------------------------------------------------------


def test_a_problem_document_gives_class_code_and_detail() -> None:
    body = {"status": 404, "code": "FILE_NOT_FOUND", "detail": "No such file.", "title": "x"}
    error = api_error(httpx.Response(404, json=body))

    assert isinstance(error, NotFoundError)
    assert (error.status, error.code, error.detail, error.error_code) == (
        404, "FILE_NOT_FOUND", "No such file.", ErrorCode.FILE_NOT_FOUND,
    )  # fmt: skip


def test_rate_limits_say_when_to_come_back() -> None:
    body = {"status": 429, "code": "RATE_LIMITED", "detail": "slow down", "retry_after": 4}
    error = api_error(httpx.Response(429, json=body))

    assert isinstance(error, RateLimitError) and error.retry_after == 4


def test_store_xml_errors_and_plain_text_answers_get_codes_too() -> None:
    xml = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    s3 = api_error(httpx.Response(403, text=xml))
    gateway = api_error(httpx.Response(502, text="Bad gateway"))

    assert (s3.code, s3.detail) == ("AccessDenied", "Request has expired")
    assert isinstance(gateway, ServerError) and gateway.code == "HTTP_502"
    assert gateway.error_code is None


# --- parity with the server ------------------------------------------------------------


def test_the_sdk_knows_every_error_code_of_the_server() -> None:
    assert {c.value for c in server_errors.ErrorCode} <= {c.value for c in ErrorCode}


def test_the_sdk_states_are_the_server_states() -> None:
    assert [s.value for s in FileState] == [s.value for s in ServerFileState]


def test_every_rejection_reason_has_plain_words() -> None:
    assert {r.value for r in RejectionReason} <= set(REASONS)
    assert explain("CORRUPT_IMAGE") == "the image is truncated or corrupt"
    assert explain("SOMETHING_NEW") == "something new"
