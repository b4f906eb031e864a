"""``ObjectStore.put`` (server-made objects such as renditions), on every store: memory, the
local folder and S3 on moto. Whole or nothing, replacing, same key rules as uploads, and
served through the store's own signed download URLs.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.memory import MemoryObjectStore
from filegate.adapters.s3.store import S3ObjectStore, open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.domain.clock import ManualClock
from filegate.domain.ports import ObjectStore
from tests.support.moto_server import REGION, aio_session, create_bucket

WEBP = "image/webp"
KEY = "0123456789abcdef/" + "a" * 32 + ".thumb"


@dataclass
class Opened:
    store: ObjectStore
    raw: Any = None  # the S3 client, for reading what S3 recorded
    bucket: str = ""
    prefix: str = ""


@asynccontextmanager
async def _memory(_: pytest.FixtureRequest, __: Path) -> AsyncIterator[Opened]:
    yield Opened(MemoryObjectStore())


@asynccontextmanager
async def _local(_: pytest.FixtureRequest, root: Path) -> AsyncIterator[Opened]:
    signer = UrlSigner({"k1": b"put-contract-key-0123456789"}, "k1")
    yield Opened(LocalObjectStore(root, "http://store.test", signer, ManualClock()))


@asynccontextmanager
async def _s3(request: pytest.FixtureRequest, _: Path) -> AsyncIterator[Opened]:
    endpoint: str = request.getfixturevalue("moto_endpoint")
    location = S3Location(create_bucket(endpoint), "put/", endpoint, REGION, True)
    session = aio_session()
    async with (
        open_s3_store(location, ManualClock(), session=session) as store,
        session.create_client("s3", endpoint_url=endpoint, region_name=REGION) as client,
    ):
        yield Opened(store, client, location.bucket, location.prefix)


@pytest.fixture(params=[_memory, _local, _s3], ids=["memory", "local", "s3"])
async def opened(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opened]:
    async with request.param(request, tmp_path / "objects") as value:
        yield value


def source(tmp_path: Path, data: bytes, name: str = "rendition.webp") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def read_all(store: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def test_put_stores_the_file_whole(opened: Opened, tmp_path: Path) -> None:
    data = b"RIFF" + bytes(range(256)) * 9

    await opened.store.put(KEY, source(tmp_path, data), WEBP)

    info = await opened.store.head(KEY)
    assert info is not None
    assert (info.key, info.size) == (KEY, len(data))
    assert await read_all(opened.store, KEY) == data


async def test_put_replaces_an_object_under_the_same_key(opened: Opened, tmp_path: Path) -> None:
    await opened.store.put(KEY, source(tmp_path, b"old rendition, longer", "a"), WEBP)
    first = await opened.store.head(KEY)

    await opened.store.put(KEY, source(tmp_path, b"new", "b"), WEBP)

    second = await opened.store.head(KEY)
    assert await read_all(opened.store, KEY) == b"new"
    assert first is not None and second is not None
    assert second.etag != first.etag


async def test_a_put_that_fails_leaves_nothing(opened: Opened, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await opened.store.put(KEY, tmp_path / "never-written.webp", WEBP)

    assert await opened.store.head(KEY) is None


async def test_a_failed_replacing_put_keeps_the_old_object_whole(
    opened: Opened, tmp_path: Path
) -> None:
    await opened.store.put(KEY, source(tmp_path, b"the old rendition"), WEBP)

    with pytest.raises(IsADirectoryError):
        await opened.store.put(KEY, tmp_path, WEBP)  # a directory cannot be read

    assert await read_all(opened.store, KEY) == b"the old rendition"


@pytest.fixture(params=[_local, _s3], ids=["local", "s3"])
async def real(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opened]:
    """The stores the product runs (the memory fake does not validate keys)."""
    async with request.param(request, tmp_path / "objects") as value:
        yield value


@pytest.mark.parametrize("key", ["../escape.thumb", "owner/../x.thumb", "/absolute", ""])
async def test_put_refuses_keys_the_core_never_makes(
    real: Opened, tmp_path: Path, key: str
) -> None:
    with pytest.raises(ValueError):
        await real.store.put(key, source(tmp_path, b"x"), WEBP)


async def test_delete_removes_a_put_object(opened: Opened, tmp_path: Path) -> None:
    await opened.store.put(KEY, source(tmp_path, b"bytes"), WEBP)

    await opened.store.delete(KEY)

    assert await opened.store.head(KEY) is None


async def test_local_put_is_listed_served_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    signer = UrlSigner({"k1": b"put-contract-key-0123456789"}, "k1")
    store = LocalObjectStore(root, "http://store.test", signer, ManualClock())
    data = b"rendition bytes"

    await store.put(KEY, source(tmp_path, data), WEBP)

    assert list(store.temp_dir.iterdir()) == []
    assert [o.key async for o in store.list_objects()] == [KEY]
    info = await store.head(KEY)
    assert info is not None and info.etag == hashlib.sha256(data).hexdigest()
    signed = store.sign_download(KEY, "thumb.webp", WEBP, timedelta(minutes=5))
    path = urlsplit(signed.url).path.removeprefix("/store/")
    terms = store.verify_download(path, parse_qsl(urlsplit(signed.url).query))
    assert (path, terms.content_type) == (KEY, WEBP)


async def test_local_put_after_a_failed_put_leaves_no_temporary_file(tmp_path: Path) -> None:
    signer = UrlSigner({"k1": b"put-contract-key-0123456789"}, "k1")
    store = LocalObjectStore(tmp_path / "objects", "http://store.test", signer, ManualClock())

    with pytest.raises(FileNotFoundError):
        await store.put(KEY, tmp_path / "missing", WEBP)

    assert list(store.temp_dir.iterdir()) == []
    assert [o.key async for o in store.list_objects()] == []


async def test_s3_put_records_the_content_type_and_serves_it(
    moto_endpoint: str, tmp_path: Path
) -> None:
    location = S3Location(create_bucket(moto_endpoint), "put/", moto_endpoint, REGION, True)
    session = aio_session()
    data = b"RIFF....WEBP"
    async with (
        open_s3_store(location, ManualClock(), session=session) as store,
        session.create_client("s3", endpoint_url=moto_endpoint, region_name=REGION) as client,
    ):
        assert isinstance(store, S3ObjectStore)
        await store.put(KEY, source(tmp_path, data), WEBP)

        recorded = await client.head_object(Bucket=location.bucket, Key="put/" + KEY)
        signed = store.sign_download(KEY, "thumb.webp", WEBP, timedelta(minutes=5))
    async with httpx.AsyncClient() as http:
        response = await http.get(signed.url)

    assert recorded["ContentType"] == WEBP
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == WEBP
