"""The ``ObjectStore`` contract, run against every adapter: memory, local folder, S3 on moto."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.memory import MemoryObjectStore
from filegate.adapters.s3.store import open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.domain.clock import ManualClock
from filegate.domain.models import ObjectInfo, UploadSpec
from filegate.domain.ports import ObjectStore
from tests.support.moto_server import REGION, aio_session, create_bucket

Put = Callable[[str, bytes], Awaitable[ObjectInfo]]
StoreFactory = Callable[
    [pytest.FixtureRequest, Path], AbstractAsyncContextManager[tuple[ObjectStore, Put]]
]


async def _chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _memory(_: Path) -> tuple[ObjectStore, Put]:
    store = MemoryObjectStore()

    async def put(key: str, data: bytes) -> ObjectInfo:
        return store.put_bytes(key, data)

    return store, put


def _local(root: Path) -> tuple[ObjectStore, Put]:
    signer = UrlSigner({"k1": b"contract-test-key-0123456789"}, "k1")
    store = LocalObjectStore(root, "http://store.test", signer, ManualClock())

    async def put(key: str, data: bytes) -> ObjectInfo:
        spec = UploadSpec(len(data), "application/octet-stream", hashlib.sha256(data).hexdigest())
        return (await store.write_upload(key, _chunks_of(data), spec)).info

    return store, put


@asynccontextmanager
async def _s3_on_moto(
    request: pytest.FixtureRequest, _: Path
) -> AsyncIterator[tuple[ObjectStore, Put]]:
    """A fresh bucket on moto, keys under a prefix; ``put`` is a plain PutObject."""
    endpoint: str = request.getfixturevalue("moto_endpoint")
    location = S3Location(create_bucket(endpoint), "contract/", endpoint, REGION, True)
    session = aio_session()
    async with (
        open_s3_store(location, ManualClock(), session=session) as store,
        session.create_client("s3", endpoint_url=endpoint, region_name=REGION) as client,
    ):

        async def put(key: str, data: bytes) -> ObjectInfo:
            object_key = location.prefix + key
            written = await client.put_object(Bucket=location.bucket, Key=object_key, Body=data)
            return ObjectInfo(key, len(data), written["ETag"].strip('"'))

        yield store, put


def _synchronous(factory: Callable[[Path], tuple[ObjectStore, Put]]) -> StoreFactory:
    @asynccontextmanager
    async def opened(
        _: pytest.FixtureRequest, root: Path
    ) -> AsyncIterator[tuple[ObjectStore, Put]]:
        yield factory(root)

    return opened


@pytest.fixture(
    params=[_synchronous(_memory), _synchronous(_local), _s3_on_moto],
    ids=["memory", "local", "s3"],
)
async def store_and_put(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ObjectStore, Put]]:
    factory: StoreFactory = request.param
    async with factory(request, tmp_path / "objects") as store_and_put:
        yield store_and_put


async def read_all(store: ObjectStore, key: str, chunk_size: int = 1 << 20) -> list[bytes]:
    return [chunk async for chunk in store.read(key, chunk_size)]


async def test_head_of_a_missing_object_is_none(store_and_put: tuple[ObjectStore, Put]) -> None:
    store, _ = store_and_put

    assert await store.head("owner/missing") is None


async def test_head_reports_size_and_a_stable_etag(
    store_and_put: tuple[ObjectStore, Put],
) -> None:
    store, put = store_and_put
    written = await put("owner/a", b"hello world")

    first = await store.head("owner/a")
    second = await store.head("owner/a")

    assert first == second == written
    assert first is not None
    assert (first.key, first.size) == ("owner/a", 11)
    assert first.etag


async def test_different_bytes_get_different_etags(
    store_and_put: tuple[ObjectStore, Put],
) -> None:
    _, put = store_and_put

    one = await put("owner/one", b"one")
    two = await put("owner/two", b"two")

    assert one.etag != two.etag


async def test_read_round_trips_in_chunks_no_larger_than_asked(
    store_and_put: tuple[ObjectStore, Put],
) -> None:
    store, put = store_and_put
    data = bytes(range(256)) * 40  # 10,240 bytes
    await put("owner/chunky", data)

    chunks = await read_all(store, "owner/chunky", chunk_size=1000)

    assert b"".join(chunks) == data
    assert len(chunks) >= 11
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)


async def test_read_round_trips_more_than_the_default_chunk(
    store_and_put: tuple[ObjectStore, Put],
) -> None:
    store, put = store_and_put
    data = hashlib.sha256(b"seed").digest() * (3 * (1 << 20) // 32 + 7)  # a bit over 3 MiB
    await put("owner/big", data)

    chunks = await read_all(store, "owner/big")

    assert b"".join(chunks) == data
    assert len(chunks) > 1


async def test_read_of_a_missing_object_raises_file_not_found(
    store_and_put: tuple[ObjectStore, Put],
) -> None:
    store, _ = store_and_put

    with pytest.raises(FileNotFoundError):
        await read_all(store, "owner/missing")


async def test_delete_removes_and_is_idempotent(store_and_put: tuple[ObjectStore, Put]) -> None:
    store, put = store_and_put
    await put("owner/doomed", b"bytes")

    await store.delete("owner/doomed")
    await store.delete("owner/doomed")
    await store.delete("owner/never-existed")

    assert await store.head("owner/doomed") is None
    with pytest.raises(FileNotFoundError):
        await read_all(store, "owner/doomed")


async def test_keys_with_nested_segments_are_independent(
    store_and_put: tuple[ObjectStore, Put],
) -> None:
    store, put = store_and_put
    await put("a1b2/c3/file-1", b"first")
    await put("a1b2/c3/file-2", b"second")
    await put("z9/file-1", b"third")

    await store.delete("a1b2/c3/file-1")

    assert await store.head("a1b2/c3/file-1") is None
    assert b"".join(await read_all(store, "a1b2/c3/file-2")) == b"second"
    assert b"".join(await read_all(store, "z9/file-1")) == b"third"
    assert await store.head("a1b2/c3") is None
