"""The SDK against the real ``filegate serve``, through a fault-injecting loopback proxy.

The server's public URL is the proxy's, so API calls and signed store URLs both pass
through it, and a test can drop, refuse or corrupt any one of them.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from filegate.adapters.tokens import TokenAuthority
from filegate.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    Declaration,
    DownloadChecksumError,
    ErrorCode,
    File,
    FilegateAPIError,
    FilegateConnectionError,
    FileState,
    NotFoundError,
    PrintFitness,
    PrintSize,
    PrintVerdict,
    RetryPolicy,
    UnsupportedMediaTypeError,
    UploadOutcome,
    UploadPhase,
    UploadProgress,
    WaitTimeoutError,
)
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind
from tests.e2e.server import SECRET, RunningServer, free_port, running_server
from tests.e2e.shapes import TEST_ENV
from tests.support import images
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.streams import OneWayStream

pytestmark = pytest.mark.e2e

FAST_RETRIES = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=0.05)


class Deployment:
    """The server and the proxy in front of it; tokens for new users, minted in-process."""

    def __init__(self, server: RunningServer, proxy: FaultProxy) -> None:
        self.server = server
        self.proxy = proxy
        self._tokens = TokenAuthority(SECRET, SystemClock())

    def token(self, user: str | None = None) -> str:
        name = user or f"u-{uuid.uuid4().hex[:8]}"
        return self._tokens.mint(Owner(OwnerKind.USER, name), timedelta(hours=1))

    def client(self) -> Client:
        return Client(self.proxy.url, self.token(), retries=FAST_RETRIES)

    def async_client(self) -> AsyncClient:
        return AsyncClient(self.proxy.url, self.token(), retries=FAST_RETRIES)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("sdk") / "data"
    proxy = FaultProxy()
    with proxy.running():
        env = {**TEST_ENV, "FILEGATE_PUBLIC_URL": proxy.url}
        with running_server(data_dir, env=env) as server:
            proxy.upstream = server.url
            yield Deployment(server, proxy)


@pytest.fixture
def faults(deployment: Deployment) -> Iterator[FaultProxy]:
    deployment.proxy.reset()
    yield deployment.proxy
    deployment.proxy.reset()


@pytest.fixture
def client(deployment: Deployment, faults: FaultProxy) -> Iterator[Client]:
    with deployment.client() as sdk:
        yield sdk


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- uploads ---------------------------------------------------------------------------


def test_upload_from_a_path_becomes_ready_and_downloads_identical(
    client: Client, tmp_path: Path
) -> None:
    data = images.jpeg_bytes(320, 240)
    source = tmp_path / "holiday.jpg"
    source.write_bytes(data)

    file = client.upload(source, wait=True, metadata={"album": "summer"})

    assert (file.state, file.filename, file.content_type) == (
        FileState.READY, "holiday.jpg", "image/jpeg",
    )  # fmt: skip
    assert file.image is not None and (file.image.width, file.image.height) == (320, 240)
    assert (file.sha256, file.metadata) == (sha256(data), {"album": "summer"})
    folder = tmp_path / "back"
    folder.mkdir()
    client.download(file.id, folder)
    assert (folder / "holiday.jpg").read_bytes() == data
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"]


def test_upload_from_bytes_and_streams_declares_the_type_the_bytes_show(
    client: Client,
) -> None:
    png, webp, gif = images.png_bytes(40, 30), images.webp_bytes(41, 30), images.gif_bytes(42, 30)
    seekable = io.BytesIO(b"header to skip" + webp)
    seekable.seek(len(b"header to skip"))

    from_bytes = client.upload(png, filename="scan.bin", wait=True)
    from_seekable = client.upload(seekable, wait=True)
    from_pipe = client.upload(io.BufferedReader(OneWayStream(gif)), wait=True)

    assert [
        (f.content_type, f.state, f.sha256) for f in (from_bytes, from_seekable, from_pipe)
    ] == [
        ("image/png", FileState.READY, sha256(png)),
        ("image/webp", FileState.READY, sha256(webp)),
        ("image/gif", FileState.READY, sha256(gif)),
    ]
    assert from_bytes.filename == "scan.bin"


def test_progress_reports_hashing_then_uploading_then_verifying(client: Client) -> None:
    data = images.jpeg_bytes(900, 700)
    events: list[UploadProgress] = []

    client.upload(data, wait=True, progress=events.append)

    phases = [e.phase for e in events]
    assert phases[0] is UploadPhase.HASHING and phases[-1] is UploadPhase.VERIFYING
    uploading = [e.done for e in events if e.phase is UploadPhase.UPLOADING]
    assert uploading == sorted(uploading) and uploading[-1] == len(data)
    assert {e.total for e in events} == {len(data)}


def test_a_declared_print_size_comes_back_with_its_fitness(client: Client) -> None:
    data = images.jpeg_bytes(600, 400)
    declaration = Declaration(
        "print.jpg", "image/jpeg", len(data), print_size=PrintSize(50.8, 50.8)
    )
    [registered] = client.register_many([declaration])
    assert isinstance(registered, File) and registered.print_size == PrintSize(50.8, 50.8)

    client.upload_to(registered, data)
    file = client.wait(registered.id)

    assert file.image is not None and (file.image.display_width, file.image.display_height) == (
        600,
        400,
    )
    # 400 px over 2 in: 200 dpi, "low" at the default thresholds.
    assert file.print_fitness == PrintFitness(200, PrintVerdict.LOW)


# --- retries ---------------------------------------------------------------------------


def test_a_dropped_connection_during_the_upload_is_retried(
    client: Client, faults: FaultProxy
) -> None:
    faults.inject("PUT", "/store/", Fault(drop=True))

    file = client.upload(images.jpeg_bytes(64, 64), wait=True)

    assert file.state is FileState.READY
    assert faults.seen("PUT", "/store/") == 2


def test_a_registration_whose_answer_was_lost_is_retried_without_a_duplicate(
    client: Client, faults: FaultProxy
) -> None:
    faults.inject("POST", "/v1/files", Fault(drop=True, after_forwarding=True))

    file = client.upload(images.jpeg_bytes(65, 64), wait=True)

    assert faults.seen("POST", "/v1/files") >= 2
    assert [f.id for f in client.list()] == [file.id]


def test_unavailable_and_rate_limited_answers_are_retried(
    client: Client, faults: FaultProxy
) -> None:
    busy = {"Retry-After": "0", "Content-Type": "application/problem+json"}
    faults.inject("POST", "/v1/files", Fault(status=503, headers=busy, body=b"{}"))
    faults.inject("GET", "/v1/files/", Fault(status=429, headers=busy, body=b"{}"), times=2)

    file = client.upload(images.jpeg_bytes(66, 64), wait=True)

    assert file.state is FileState.READY


def test_an_expired_upload_url_is_replaced_by_a_fresh_one(
    client: Client, faults: FaultProxy
) -> None:
    problem = {"status": 403, "code": "URL_EXPIRED", "detail": "The URL has expired."}
    expired = Fault(status=403, body=json.dumps(problem).encode())
    faults.inject("PUT", "/store/", expired)

    file = client.upload(images.jpeg_bytes(67, 64), wait=True)

    assert file.state is FileState.READY
    assert faults.seen("POST", f"/v1/files/{file.id}/upload-url") == 1


def test_an_unreachable_server_is_a_connection_error_after_the_retries() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with (
        Client(nowhere, "token", retries=FAST_RETRIES) as sdk,
        pytest.raises(FilegateConnectionError) as caught,
    ):
        sdk.get("anything")
    assert caught.value.code == "CONNECTION_FAILED"


# --- reading ---------------------------------------------------------------------------


def test_wait_long_polls_until_final_and_times_out_on_a_file_without_bytes(
    client: Client,
) -> None:
    data = images.jpeg_bytes(68, 64)
    uploaded = client.upload(data)
    waiting = client.register("later.jpg", "image/jpeg", len(data), sha256(data))

    assert client.wait(uploaded.id, timeout=30).state is FileState.READY
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait(waiting.id, timeout=0.3)
    assert caught.value.file.state is FileState.REGISTERED


def test_list_follows_cursors_and_filters_by_state(client: Client, faults: FaultProxy) -> None:
    declared = [Declaration(f"f{i}.jpg", "image/jpeg", 100 + i) for i in range(5)]
    registered = client.register_many(declared)
    ready = client.upload(images.jpeg_bytes(69, 64), wait=True)
    faults.reset()

    listed = list(client.list(page_size=2))

    registered_ids = [f.id for f in registered if isinstance(f, File)]
    assert [f.id for f in listed] == [ready.id, *reversed(registered_ids)]
    assert faults.seen("GET", "/v1/files") == 3
    assert [f.id for f in client.list(state=FileState.READY)] == [ready.id]


def test_register_many_gives_each_item_its_file_or_its_error(client: Client) -> None:
    results = client.register_many(
        [
            Declaration("a.jpg", "image/jpeg", 10),
            Declaration("b.txt", "text/plain", 10),
            Declaration("c.jpg", "image/jpeg", 0),
        ]
    )

    first, second, third = results
    assert not isinstance(first, FilegateAPIError) and first.state is FileState.REGISTERED
    assert first.upload is not None and first.upload.method == "PUT"
    assert isinstance(second, UnsupportedMediaTypeError)
    assert isinstance(third, FilegateAPIError) and third.code == "EMPTY_FILE"


def test_errors_carry_the_stable_code_of_the_problem(
    client: Client, deployment: Deployment
) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get("no-such-file")
    pending = client.register("p.jpg", "image/jpeg", 10)
    with pytest.raises(ConflictError) as early:
        client.download(pending.id, io.BytesIO())
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        client.register("doc.pdf", "application/pdf", 10)
    with (
        Client(deployment.proxy.url, "not-a-token", retries=FAST_RETRIES) as stranger,
        pytest.raises(AuthenticationError) as anonymous,
    ):
        stranger.list_page()

    assert (missing.value.status, missing.value.error_code) == (404, ErrorCode.FILE_NOT_FOUND)
    assert early.value.code == "NOT_READY"
    assert refused.value.code == "UNSUPPORTED_MEDIA_TYPE"
    assert anonymous.value.code == "UNAUTHENTICATED" and anonymous.value.body["status"] == 401


def test_delete_removes_the_file(client: Client) -> None:
    file = client.upload(images.jpeg_bytes(70, 64), wait=True)

    client.delete(file.id)
    client.delete(file.id)  # again: still fine

    assert client.get(file.id).state is FileState.DELETED
    with pytest.raises(ConflictError):
        client.download(file.id, io.BytesIO())


def test_a_download_with_other_bytes_is_refused_and_leaves_nothing(
    client: Client, faults: FaultProxy, tmp_path: Path
) -> None:
    file = client.upload(images.jpeg_bytes(71, 64), wait=True)
    faults.inject("GET", "/store/", Fault(corrupt=True))

    with pytest.raises(DownloadChecksumError) as caught:
        client.download(file.id, tmp_path / "copy.jpg")

    assert caught.value.expected == file.sha256
    assert list(tmp_path.iterdir()) == []


def test_a_dropped_download_starts_again(
    client: Client, faults: FaultProxy, tmp_path: Path
) -> None:
    data = images.jpeg_bytes(72, 64)
    file = client.upload(data, wait=True)
    faults.inject("GET", "/store/", Fault(drop=True))

    client.download(file.id, tmp_path / "copy.jpg")

    assert (tmp_path / "copy.jpg").read_bytes() == data


def test_upload_many_reports_every_outcome_in_order(client: Client, tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(images.jpeg_bytes(73, 64))
    ended: list[UploadOutcome] = []

    outcomes = client.upload_many(
        [good, images.corrupt_jpeg(), tmp_path / "missing.jpg"],
        parallel=3,
        wait=True,
        on_outcome=ended.append,
    )

    assert [(o.index, o.label) for o in outcomes] == [
        (0, str(good)), (1, "upload #2"), (2, str(tmp_path / "missing.jpg")),
    ]  # fmt: skip
    ready, rejected, missing = outcomes
    assert ready.file is not None and ready.file.state is FileState.READY
    assert rejected.file is not None and (rejected.file.state, rejected.file.reason) == (
        FileState.REJECTED, "CORRUPT_IMAGE",
    )  # fmt: skip
    assert missing.file is None and missing.error is not None
    assert missing.error.code == "UNREADABLE_SOURCE"
    assert sorted(o.index for o in ended) == [0, 1, 2]


def test_environment_variables_name_the_server_and_token(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FILEGATE_URL", deployment.proxy.url + "/")
    monkeypatch.setenv("FILEGATE_TOKEN", deployment.token("env-user"))

    with Client() as sdk:
        assert sdk.url == deployment.proxy.url
        assert sdk.list_page().files == []


# --- asyncio ---------------------------------------------------------------------------


async def test_async_client_uploads_waits_lists_downloads_and_deletes(
    deployment: Deployment, faults: FaultProxy, tmp_path: Path
) -> None:
    jpeg, png = images.jpeg_bytes(74, 64), images.png_bytes(75, 64)
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg)
    faults.inject("PUT", "/store/", Fault(drop=True))

    async with deployment.async_client() as sdk:
        from_path = await sdk.upload(path, wait=True)
        from_stream = await sdk.upload(io.BytesIO(png))
        ready = await sdk.wait(from_stream.id, timeout=30)
        listed = [f.id async for f in sdk.list(page_size=1)]
        copy = io.BytesIO()
        await sdk.download(from_path.id, copy)
        await sdk.delete(ready.id)
        with pytest.raises(NotFoundError):
            await sdk.get("missing")
        after = await sdk.get(ready.id)

    assert (from_path.state, ready.state, after.state) == (
        FileState.READY, FileState.READY, FileState.DELETED,
    )  # fmt: skip
    assert listed == [from_stream.id, from_path.id]
    assert copy.getvalue() == jpeg
    assert faults.seen("PUT", "/store/") == 3  # the dropped try, then one per file


async def test_async_upload_many_runs_in_parallel_and_keeps_the_order(
    deployment: Deployment,
) -> None:
    sources = [images.jpeg_bytes(80 + i, 64) for i in range(4)]

    async with deployment.async_client() as sdk:
        outcomes = await sdk.upload_many(sources, parallel=2, wait=True)

    assert [o.index for o in outcomes] == [0, 1, 2, 3]
    assert [o.file.sha256 if o.file else None for o in outcomes] == [sha256(s) for s in sources]
    assert {o.file.state for o in outcomes if o.file} == {FileState.READY}
