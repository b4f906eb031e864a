"""The S3 store against moto's server: presigned uploads and downloads, multipart, failures.

moto checks neither signatures nor checksums, so these tests also assert what is *signed*:
on real S3 the signed headers are what refuses a different body or a second write.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.auth
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from filegate.adapters.s3.credentials import FrozenCredentials, PresignerKeeper
from filegate.adapters.s3.store import S3ObjectStore, S3StoreConfig, open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.filenames import content_disposition
from filegate.domain.models import MultipartUpload, SignedRequest, UploadSpec
from tests.support.moto_server import REGION, aio_session, create_bucket, s3_client

PREFIX = "objects/"
MIB = 2**20
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@dataclass
class Harness:
    store: S3ObjectStore
    location: S3Location
    clock: ManualClock
    http: httpx.AsyncClient

    def raw(self) -> Any:
        """A plain botocore client on the same emulator, to look behind the store's back."""
        return s3_client(str(self.location.endpoint_url))

    async def send(self, request: SignedRequest, body: bytes) -> httpx.Response:
        return await self.http.request(
            request.method, request.url, headers=dict(request.headers), content=body
        )


@pytest.fixture
async def s3(moto_endpoint: str) -> AsyncIterator[Harness]:
    location = S3Location(create_bucket(moto_endpoint), PREFIX, moto_endpoint, REGION, True)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    async with (
        open_s3_store(location, clock, session=aio_session()) as store,
        httpx.AsyncClient(timeout=10) as http,
    ):
        yield Harness(store, location, clock, http)


def signed_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def spec_of(data: bytes, content_type: str = "image/png", sha256: bool = True) -> UploadSpec:
    digest = hashlib.sha256(data).hexdigest() if sha256 else None
    return UploadSpec(len(data), content_type, digest)


# -- presigned upload ----------------------------------------------------------------------


async def test_presigned_put_with_exactly_the_returned_headers_stores_the_object(
    s3: Harness,
) -> None:
    signed = s3.store.sign_upload("owner/file-1", spec_of(PNG_BYTES), timedelta(minutes=15))

    response = await s3.send(signed, PNG_BYTES)

    assert response.status_code == 200
    info = await s3.store.head("owner/file-1")
    assert info is not None
    assert (info.key, info.size) == ("owner/file-1", len(PNG_BYTES))
    assert info.etag == response.headers["etag"].strip('"')
    stored = s3.raw().head_object(Bucket=s3.location.bucket, Key=PREFIX + "owner/file-1")
    assert stored["ContentType"] == "image/png"


async def test_upload_signs_length_type_host_precondition_and_checksum(s3: Harness) -> None:
    signed = s3.store.sign_upload("owner/file-2", spec_of(PNG_BYTES), timedelta(minutes=15))
    query = signed_query(signed.url)

    assert signed.method == "PUT"
    assert query["X-Amz-SignedHeaders"] == (
        "content-length;content-type;host;if-none-match;x-amz-checksum-sha256"
    )
    assert signed.headers == {
        "Content-Type": "image/png",
        "Content-Length": str(len(PNG_BYTES)),
        "If-None-Match": "*",
        "x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(PNG_BYTES).digest()).decode(),
    }


async def test_upload_without_a_declared_sha256_signs_no_checksum(s3: Harness) -> None:
    signed = s3.store.sign_upload(
        "owner/file-3", spec_of(PNG_BYTES, sha256=False), timedelta(minutes=15)
    )

    assert signed_query(signed.url)["X-Amz-SignedHeaders"] == (
        "content-length;content-type;host;if-none-match"
    )
    assert "x-amz-checksum-sha256" not in signed.headers


async def test_upload_url_carries_algorithm_scope_date_and_expiry(s3: Harness) -> None:
    signed = s3.store.sign_upload("owner/file-4", spec_of(PNG_BYTES), timedelta(minutes=15))
    query = signed_query(signed.url)
    now = s3.clock.now()

    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"] == f"testing/{now:%Y%m%d}/{REGION}/s3/aws4_request"
    assert query["X-Amz-Date"] == f"{now:%Y%m%dT%H%M%SZ}"
    assert query["X-Amz-Expires"] == "900"
    assert query["X-Amz-Security-Token"] == "testing"
    assert signed.expires_at == now + timedelta(minutes=15)
    url = urlsplit(signed.url)
    assert f"{url.scheme}://{url.netloc}" == s3.location.endpoint_url
    assert url.path == f"/{s3.location.bucket}/{PREFIX}owner/file-4"


async def test_a_second_upload_to_the_same_key_is_refused_by_the_store(s3: Harness) -> None:
    first = s3.store.sign_upload("owner/once", spec_of(PNG_BYTES), timedelta(minutes=15))
    assert (await s3.send(first, PNG_BYTES)).status_code == 200
    other = b"\x89PNG\r\n\x1a\nsomething else"
    second = s3.store.sign_upload("owner/once", spec_of(other), timedelta(minutes=15))

    response = await s3.send(second, other)

    assert response.status_code == 412
    assert b"".join([chunk async for chunk in s3.store.read("owner/once")]) == PNG_BYTES


async def test_keys_with_spaces_and_unicode_round_trip_through_signed_urls(s3: Harness) -> None:
    key = "owner/Café photo #1+2 写真.png"
    upload = s3.store.sign_upload(key, spec_of(PNG_BYTES), timedelta(minutes=15))
    assert (await s3.send(upload, PNG_BYTES)).status_code == 200

    download = s3.store.sign_download(key, "photo.png", "image/png", timedelta(minutes=5))
    response = await s3.http.get(download.url)

    assert response.status_code == 200
    assert response.content == PNG_BYTES
    listed = s3.raw().list_objects_v2(Bucket=s3.location.bucket)["Contents"]
    assert [item["Key"] for item in listed] == [PREFIX + key]


# -- presigned download --------------------------------------------------------------------


async def test_presigned_get_serves_the_bytes_as_the_requested_type_and_filename(
    s3: Harness,
) -> None:
    upload = s3.store.sign_upload("o/f", spec_of(PNG_BYTES), timedelta(minutes=1))
    assert (await s3.send(upload, PNG_BYTES)).status_code == 200
    signed = s3.store.sign_download("o/f", 'Café "noir".png', "image/png", timedelta(minutes=5))

    response = await s3.http.get(signed.url)

    assert response.status_code == 200
    assert response.content == PNG_BYTES
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Cafe noir.png\"; filename*=UTF-8''Caf%C3%A9%20noir.png"
    )
    query = signed_query(signed.url)
    assert (signed.method, signed.headers) == ("GET", {})
    assert query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Expires"] == "300"


async def test_download_url_is_byte_identical_to_botocore_for_the_same_time(
    s3: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = s3.clock.now()
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: now.replace(tzinfo=None)
    )
    disposition = "attachment; filename=\"a b.png\"; filename*=UTF-8''a%20b.png"
    expected = s3.raw().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": s3.location.bucket,
            "Key": f"{PREFIX}owner/a b.png",
            "ResponseContentDisposition": disposition,
            "ResponseContentType": "image/png",
        },
        ExpiresIn=300,
    )

    signed = s3.store.sign_download("owner/a b.png", "a b.png", "image/png", timedelta(minutes=5))

    assert signed.url == expected


@pytest.mark.parametrize(
    ("region", "bucket", "path_style"),
    [
        ("eu-west-1", "photos", False),  # https://photos.s3.eu-west-1.amazonaws.com/...
        ("us-east-1", "photos", False),  # https://photos.s3.amazonaws.com/...
        ("eu-west-1", "photos", True),  # https://s3.eu-west-1.amazonaws.com/photos/...
        ("eu-west-1", "my.photos", False),  # a dotted name would break TLS: path style
    ],
)
async def test_aws_addressing_matches_botocore(
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    region: str,
    bucket: str,
    path_style: bool,
) -> None:
    """No endpoint_url: URLs address AWS itself, exactly as botocore would.

    No request is made; ``moto_endpoint`` only provides the fake credentials.
    """
    clock = ManualClock(datetime(2026, 6, 1, 8, 30, tzinfo=UTC))
    monkeypatch.setattr(
        botocore.auth,
        "get_current_datetime",
        lambda remove_tzinfo=True: clock.now().replace(tzinfo=None),
    )
    location = S3Location(bucket, PREFIX, None, region, path_style)
    async with open_s3_store(location, clock, session=aio_session()) as store:
        signed = store.sign_download("owner/a.png", "a.png", "image/png", timedelta(minutes=5))
    config = Config(
        signature_version="s3v4", s3={"addressing_style": "path" if path_style else "virtual"}
    )
    botocore_client: Any = botocore.session.get_session().create_client(
        "s3", region_name=region, config=config
    )
    expected = botocore_client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": f"{PREFIX}owner/a.png",
            "ResponseContentDisposition": content_disposition("a.png"),
            "ResponseContentType": "image/png",
        },
        ExpiresIn=300,
    )

    assert signed.url == expected


# -- multipart -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MultipartPart:
    """A part named by the client (number and ETag), as an HTTP layer would pass it."""

    number: int
    etag: str


def part_bytes(number: int, size: int) -> bytes:
    return bytes([number]) * size


async def upload_parts(
    s3: Harness, upload: MultipartUpload, sizes: dict[int, int]
) -> dict[int, str]:
    etags: dict[int, str] = {}
    for number, size in sizes.items():
        (url,) = s3.store.sign_parts(upload, [number], size, timedelta(minutes=30))
        response = await s3.http.put(
            url.url, headers=dict(url.headers), content=part_bytes(number, size)
        )
        assert response.status_code == 200
        etags[number] = response.headers["etag"]
    return etags


async def test_multipart_upload_through_presigned_part_urls(s3: Harness) -> None:
    sizes = {1: 5 * MIB, 2: 5 * MIB, 3: 1234}
    total = sum(sizes.values())
    upload = await s3.store.start_multipart("owner/big", UploadSpec(total, "image/tiff", None))

    etags = await upload_parts(s3, upload, sizes)
    parts = [MultipartPart(number, etag) for number, etag in etags.items()]
    info = await s3.store.complete_multipart(upload, parts)

    assert (info.key, info.size) == ("owner/big", total)
    assert info.etag.endswith("-3")
    data = b"".join([chunk async for chunk in s3.store.read("owner/big")])
    assert data == b"".join(part_bytes(n, size) for n, size in sizes.items())
    stored = s3.raw().head_object(Bucket=s3.location.bucket, Key=PREFIX + "owner/big")
    assert stored["ContentType"] == "image/tiff"


async def test_part_urls_bind_length_and_carry_upload_id_and_number(s3: Harness) -> None:
    upload = await s3.store.start_multipart("owner/p", UploadSpec(20 * MIB, "image/png", None))

    urls = s3.store.sign_parts(upload, [1, 2, 3], 8 * MIB, timedelta(minutes=10))

    assert [url.number for url in urls] == [1, 2, 3]
    for url in urls:
        query = signed_query(url.url)
        assert query["uploadId"] == upload.upload_id
        assert query["partNumber"] == str(url.number)
        assert query["X-Amz-SignedHeaders"] == "content-length;host"
        assert url.headers == {"Content-Length": str(8 * MIB)}
        assert url.expires_at == s3.clock.now() + timedelta(minutes=10)


async def test_list_parts_lets_an_interrupted_upload_resume(s3: Harness) -> None:
    upload = await s3.store.start_multipart("owner/resume", UploadSpec(0, "image/png", None))
    etags = await upload_parts(s3, upload, {1: 5 * MIB})

    listed = await s3.store.list_parts(upload)
    assert [(p.number, p.etag, p.size) for p in listed] == [(1, etags[1].strip('"'), 5 * MIB)]

    await upload_parts(s3, upload, {2: 10})
    info = await s3.store.complete_multipart(upload, await s3.store.list_parts(upload))
    assert info.size == 5 * MIB + 10


async def test_stale_uploads_are_listed_by_start_time_within_the_prefix(s3: Harness) -> None:
    mine = [
        await s3.store.start_multipart(f"owner/stale-{n}", UploadSpec(1, "image/png", None))
        for n in range(3)
    ]
    s3.raw().create_multipart_upload(Bucket=s3.location.bucket, Key="elsewhere/not-ours")
    # moto reports every upload as initiated at 2010-11-10T20:48:33Z, whatever the time.
    moto_initiated = datetime(2010, 11, 10, 20, 48, 33, tzinfo=UTC)

    before = await s3.store.stale_multipart_uploads(moto_initiated)
    after = await s3.store.stale_multipart_uploads(moto_initiated + timedelta(seconds=1))

    assert before == []
    assert sorted(after, key=lambda u: u.key) == mine
    for upload in after:
        await s3.store.abort_multipart(upload)
    assert await s3.store.stale_multipart_uploads(s3.clock.now()) == []


async def test_sign_parts_refuses_numbers_and_sizes_s3_would_refuse(s3: Harness) -> None:
    upload = MultipartUpload("owner/x", "id")
    with pytest.raises(ValueError, match="part numbers"):
        s3.store.sign_parts(upload, [0], MIB, timedelta(minutes=1))
    with pytest.raises(ValueError, match="part numbers"):
        s3.store.sign_parts(upload, [10_001], MIB, timedelta(minutes=1))
    with pytest.raises(ValueError, match="part_size"):
        s3.store.sign_parts(upload, [1], 5 * 2**30 + 1, timedelta(minutes=1))


# -- failures ------------------------------------------------------------------------------


class FailingCalls:
    """Stands in for the S3 client (failure injection): every call fails with one answer."""

    def __init__(self, code: str, status: int) -> None:
        self._error: dict[str, Any] = {
            "Error": {"Code": code, "Message": "secret internal text"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    def __getattr__(self, name: str) -> Any:
        async def fail(**_: Any) -> Any:
            raise ClientError(self._error, name)  # type: ignore[arg-type]

        return fail


async def failing_store(code: str, status: int) -> S3ObjectStore:
    clock = ManualClock()
    keeper = PresignerKeeper(static_credentials, REGION, clock)
    await keeper.load()
    location = S3Location("bucket", PREFIX, "http://s3.test", REGION, True)
    return S3ObjectStore(
        FailingCalls(code, status), location, "http://s3.test", keeper, clock, S3StoreConfig()
    )


async def static_credentials() -> FrozenCredentials:
    return FrozenCredentials("AKID", "secret", None)


@pytest.mark.parametrize(
    ("code", "status"),
    [("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503), ("Throttling", 400)],
)
async def test_throttling_and_server_errors_are_backend_unavailable(code: str, status: int) -> None:
    store = await failing_store(code, status)

    for attempt in (
        store.head("k"),
        store.delete("k"),
        store.stale_multipart_uploads(datetime.now(UTC)),
        _drain(store, "k"),
    ):
        with pytest.raises(BackendUnavailable) as caught:
            await attempt
        assert "secret" not in str(caught.value)
        assert isinstance(caught.value.__cause__, ClientError)


async def test_access_denied_is_not_mistaken_for_an_outage() -> None:
    store = await failing_store("AccessDenied", 403)

    with pytest.raises(ClientError):
        await store.head("k")


async def test_an_unreachable_endpoint_is_backend_unavailable(unused_tcp_port: int) -> None:
    endpoint = f"http://127.0.0.1:{unused_tcp_port}"
    location = S3Location("bucket", "", endpoint, REGION, True)
    config = S3StoreConfig(max_attempts=1, connect_timeout=1, read_timeout=1)

    async with open_s3_store(location, ManualClock(), config, session=aio_session()) as store:
        for attempt in (store.head("k"), store.delete("k"), _drain(store, "k")):
            with pytest.raises(BackendUnavailable):
                await attempt
        # Signing needs no network: URLs are still issued while the store is down.
        assert store.sign_download("k", "k.png", "image/png", timedelta(minutes=1)).url


async def _drain(store: S3ObjectStore, key: str) -> None:
    async for _ in store.read(key):
        pass


async def test_object_keys_the_core_never_makes_are_refused(s3: Harness) -> None:
    for key in ("", "/abs", "a/../b", "a/./b", "a\x00b", "k" * 1100):
        with pytest.raises(ValueError):
            s3.store.sign_download(key, "f", "image/png", timedelta(minutes=1))


# -- event keys ----------------------------------------------------------------------------


async def test_event_keys_lose_the_prefix_and_foreign_keys_are_refused(s3: Harness) -> None:
    assert s3.store.key_of_event(f"{PREFIX}ab12/f00d") == "ab12/f00d"
    assert s3.store.key_of_event("elsewhere/ab12/f00d") is None
    assert s3.store.key_of_event(PREFIX) is None


async def test_events_for_rendition_keys_are_not_filegates_uploads(s3: Harness) -> None:
    original = "0123456789abcdef/" + "a" * 32
    assert s3.store.key_of_event(f"{PREFIX}{original}") == original
    assert s3.store.key_of_event(f"{PREFIX}{original}.thumb") is None
    assert s3.store.key_of_event(f"{PREFIX}{original}.preview") is None
