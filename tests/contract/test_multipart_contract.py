"""The ``MultipartUploads`` contract, run against the memory fake and the S3 store on moto."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from filegate.adapters.memory import MemoryObjectStore
from filegate.adapters.memory.multipart import MemoryMultipartUploads
from filegate.adapters.s3.store import open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import MultipartUpload, UploadSpec
from filegate.domain.ports import MultipartUploads, ObjectStore
from tests.support.moto_server import REGION, aio_session, create_bucket

MIB = 2**20
SPEC = UploadSpec(0, "image/png", None)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
FAR_AHEAD = datetime(2100, 1, 1, tzinfo=UTC)

PutPart = Callable[[MultipartUpload, int, bytes], Awaitable[str]]


@dataclass(frozen=True)
class Subject:
    uploads: MultipartUploads
    objects: ObjectStore
    put_part: PutPart
    """Upload one part as a client would; returns the ETag the store answered with."""


@dataclass(frozen=True)
class Part:
    number: int
    etag: str


@asynccontextmanager
async def _memory(_: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    store = MemoryObjectStore()
    uploads = MemoryMultipartUploads(store, ManualClock())

    async def put_part(upload: MultipartUpload, number: int, data: bytes) -> str:
        return uploads.put_part(upload, number, data)

    yield Subject(uploads, store, put_part)


@asynccontextmanager
async def _s3_on_moto(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    endpoint: str = request.getfixturevalue("moto_endpoint")
    location = S3Location(create_bucket(endpoint), "mp/", endpoint, REGION, True)
    clock = ManualClock(datetime.now(UTC))
    async with (
        open_s3_store(location, clock, session=aio_session()) as store,
        httpx.AsyncClient(timeout=10) as http,
    ):

        async def put_part(upload: MultipartUpload, number: int, data: bytes) -> str:
            (url,) = store.sign_parts(upload, [number], len(data), timedelta(minutes=5))
            response = await http.put(url.url, headers=dict(url.headers), content=data)
            response.raise_for_status()
            return response.headers["etag"]

        yield Subject(store, store, put_part)


@pytest.fixture(params=[_memory, _s3_on_moto], ids=["memory", "s3"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    factory: Callable[[pytest.FixtureRequest], AbstractAsyncContextManager[Subject]]
    factory = request.param
    async with factory(request) as opened:
        yield opened


def block(number: int, size: int) -> bytes:
    return bytes([number % 256]) * size


async def read_all(objects: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in objects.read(key)])


async def test_completion_assembles_the_parts_in_number_order(subject: Subject) -> None:
    upload = await subject.uploads.start_multipart("owner/big", SPEC)
    two = Part(2, await subject.put_part(upload, 2, block(2, 1000)))
    one = Part(1, await subject.put_part(upload, 1, block(1, 5 * MIB)))

    info = await subject.uploads.complete_multipart(upload, [two, one])

    assert (info.key, info.size) == ("owner/big", 5 * MIB + 1000)
    assert await subject.objects.head("owner/big") == info
    assert await read_all(subject.objects, "owner/big") == block(1, 5 * MIB) + block(2, 1000)


async def test_list_parts_reports_what_is_stored_and_a_resent_part_replaces(
    subject: Subject,
) -> None:
    upload = await subject.uploads.start_multipart("owner/resume", SPEC)
    await subject.put_part(upload, 1, b"first try")
    etag_one = await subject.put_part(upload, 1, b"second try")
    etag_three = await subject.put_part(upload, 3, b"three")

    parts = await subject.uploads.list_parts(upload)

    assert [(p.number, p.etag, p.size) for p in parts] == [
        (1, etag_one.strip('"'), 10),
        (3, etag_three.strip('"'), 5),
    ]


async def test_a_new_upload_has_no_parts(subject: Subject) -> None:
    upload = await subject.uploads.start_multipart("owner/empty", SPEC)

    assert await subject.uploads.list_parts(upload) == []


@pytest.mark.parametrize("flaw", ["wrong etag", "missing part", "small first part"])
async def test_parts_that_do_not_make_the_object_are_an_incomplete_upload(
    subject: Subject, flaw: str
) -> None:
    upload = await subject.uploads.start_multipart("owner/flawed", SPEC)
    first_size = 1000 if flaw == "small first part" else 5 * MIB
    parts = [
        Part(1, await subject.put_part(upload, 1, block(1, first_size))),
        Part(2, await subject.put_part(upload, 2, block(2, 10))),
    ]
    if flaw == "wrong etag":
        parts[1] = Part(2, parts[0].etag)
    if flaw == "missing part":
        parts.append(Part(3, parts[1].etag))

    with pytest.raises(FilegateError) as caught:
        await subject.uploads.complete_multipart(upload, parts)

    assert caught.value.code is ErrorCode.UPLOAD_INCOMPLETE
    assert await subject.objects.head("owner/flawed") is None
    assert len(await subject.uploads.list_parts(upload)) == 2  # still there to fix


async def test_an_existing_object_is_never_replaced(subject: Subject) -> None:
    first = await subject.uploads.start_multipart("owner/once", SPEC)
    await subject.uploads.complete_multipart(
        first, [Part(1, await subject.put_part(first, 1, b"original"))]
    )
    second = await subject.uploads.start_multipart("owner/once", SPEC)
    part = Part(1, await subject.put_part(second, 1, b"intruder"))

    with pytest.raises(FilegateError) as caught:
        await subject.uploads.complete_multipart(second, [part])

    assert caught.value.code is ErrorCode.ALREADY_UPLOADED
    assert await read_all(subject.objects, "owner/once") == b"original"


async def test_a_completed_upload_is_gone(subject: Subject) -> None:
    upload = await subject.uploads.start_multipart("owner/done", SPEC)
    part = Part(1, await subject.put_part(upload, 1, b"bytes"))
    await subject.uploads.complete_multipart(upload, [part])

    with pytest.raises(FilegateError) as caught:
        await subject.uploads.list_parts(upload)

    assert caught.value.code is ErrorCode.NOT_FOUND
    assert await subject.uploads.stale_multipart_uploads(FAR_AHEAD) == []


async def test_abort_discards_and_is_idempotent(subject: Subject) -> None:
    upload = await subject.uploads.start_multipart("owner/abandoned", SPEC)
    await subject.put_part(upload, 1, b"bytes")

    await subject.uploads.abort_multipart(upload)
    await subject.uploads.abort_multipart(upload)
    await subject.uploads.abort_multipart(MultipartUpload("owner/unknown", "no-such-upload"))

    # (Completing it instead would be NOT_FOUND too, but moto answers that with a 500.)
    with pytest.raises(FilegateError) as caught:
        await subject.uploads.list_parts(upload)
    assert caught.value.code is ErrorCode.NOT_FOUND
    assert await subject.uploads.stale_multipart_uploads(FAR_AHEAD) == []


async def test_stale_uploads_are_those_begun_before_the_cutoff(subject: Subject) -> None:
    started = {await subject.uploads.start_multipart(f"owner/stale-{n}", SPEC) for n in range(3)}

    assert await subject.uploads.stale_multipart_uploads(LONG_AGO) == []
    assert set(await subject.uploads.stale_multipart_uploads(FAR_AHEAD)) == started


async def test_part_urls_are_bound_to_their_size_and_expire(subject: Subject) -> None:
    upload = await subject.uploads.start_multipart("owner/urls", SPEC)

    urls = subject.uploads.sign_parts(upload, [1, 2], 8 * MIB, timedelta(minutes=10))

    assert [url.number for url in urls] == [1, 2]
    assert all(url.headers["Content-Length"] == str(8 * MIB) for url in urls)
    assert urls[0].url != urls[1].url
    with pytest.raises(ValueError):
        subject.uploads.sign_parts(upload, [10_001], MIB, timedelta(minutes=1))
