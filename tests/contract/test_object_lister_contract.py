"""The ``ObjectLister`` contract: memory, the local folder and S3 on moto list alike."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.memory import MemoryObjectStore
from filegate.adapters.s3.store import open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.domain.clock import SystemClock
from filegate.domain.models import ListedObject, UploadSpec
from filegate.domain.ports import ObjectLister, ObjectStore
from tests.support.moto_server import REGION, aio_session, create_bucket

Put = Callable[[str, bytes], Awaitable[None]]


class ListingStore(ObjectStore, ObjectLister, Protocol):
    """A store that can also list (every adapter under test is one)."""


Opened = AbstractAsyncContextManager[tuple[ListingStore, Put]]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@asynccontextmanager
async def _memory(_: pytest.FixtureRequest, __: Path) -> AsyncIterator[tuple[ListingStore, Put]]:
    store = MemoryObjectStore()

    async def put(key: str, data: bytes) -> None:
        store.put_bytes(key, data)

    yield store, put


def _local_store(root: Path) -> tuple[LocalObjectStore, Put]:
    signer = UrlSigner({"k1": b"lister-contract-key-0123456789"}, "k1")
    store = LocalObjectStore(root, "http://store.test", signer, SystemClock())

    async def put(key: str, data: bytes) -> None:
        spec = UploadSpec(len(data), "image/jpeg", hashlib.sha256(data).hexdigest())
        await store.write_upload(key, _once(data), spec)

    return store, put


@asynccontextmanager
async def _local(_: pytest.FixtureRequest, root: Path) -> AsyncIterator[tuple[ListingStore, Put]]:
    yield _local_store(root)


@asynccontextmanager
async def _s3(request: pytest.FixtureRequest, _: Path) -> AsyncIterator[tuple[ListingStore, Put]]:
    endpoint: str = request.getfixturevalue("moto_endpoint")
    location = S3Location(create_bucket(endpoint), "lister/", endpoint, REGION, True)
    session = aio_session()
    async with (
        open_s3_store(location, SystemClock(), session=session) as store,
        session.create_client("s3", endpoint_url=endpoint, region_name=REGION) as client,
    ):

        async def put(key: str, data: bytes) -> None:
            await client.put_object(Bucket=location.bucket, Key=location.prefix + key, Body=data)

        await client.put_object(Bucket=location.bucket, Key="outside/the-prefix", Body=b"x")
        yield store, put


@pytest.fixture(params=[_memory, _local, _s3], ids=["memory", "local", "s3"])
async def store_and_put(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ListingStore, Put]]:
    factory: Callable[[pytest.FixtureRequest, Path], Opened] = request.param
    async with factory(request, tmp_path / "objects") as opened:
        yield opened


async def listed(store: ObjectLister, prefix: str | None = None) -> list[ListedObject]:
    return sorted([o async for o in store.list_objects(prefix)], key=lambda o: o.key)


async def test_an_empty_store_lists_nothing(store_and_put: tuple[ListingStore, Put]) -> None:
    store, _ = store_and_put
    assert await listed(store) == []


async def test_every_object_is_listed_with_size_and_time(
    store_and_put: tuple[ListingStore, Put],
) -> None:
    store, put = store_and_put
    before = datetime.now(UTC) - timedelta(seconds=5)
    await put("aaaa/one", b"1")
    await put("bbbb/two", b"22")
    await put("bbbb/deeper/three", b"333")

    objects = await listed(store)

    assert [(o.key, o.size) for o in objects] == [
        ("aaaa/one", 1),
        ("bbbb/deeper/three", 3),
        ("bbbb/two", 2),
    ]
    for item in objects:
        assert item.last_modified.utcoffset() == timedelta(0)
        assert before <= item.last_modified <= datetime.now(UTC) + timedelta(seconds=5)


async def test_a_prefix_narrows_the_listing(store_and_put: tuple[ListingStore, Put]) -> None:
    store, put = store_and_put
    await put("aaaa/one", b"1")
    await put("aaab/two", b"2")
    await put("bbbb/three", b"3")
    assert [o.key for o in await listed(store, "aaa")] == ["aaaa/one", "aaab/two"]
    assert [o.key for o in await listed(store, "aaaa/")] == ["aaaa/one"]
    assert await listed(store, "zz") == []


async def test_deleted_objects_are_no_longer_listed(
    store_and_put: tuple[ListingStore, Put],
) -> None:
    store, put = store_and_put
    await put("aaaa/one", b"1")
    await put("aaaa/two", b"2")
    await store.delete("aaaa/one")
    assert [o.key for o in await listed(store)] == ["aaaa/two"]


async def test_the_local_stores_own_files_are_not_objects(tmp_path: Path) -> None:
    store, put = _local_store(tmp_path)
    await put("aaaa/one", b"1")
    await store.head("aaaa/one")  # writes its sidecar
    (store.temp_dir / "in-progress.part").write_bytes(b"partial")
    assert [o.key for o in await listed(store)] == ["aaaa/one"]
