"""FileService: owner-scoped get/list, long-poll wait, download and delete."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from filegate.adapters.memory import MemoryObjectStore, MemoryRepository, MemorySigner
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Actor, FileRecord, StateChange, TransitionReason
from filegate.domain.ports import DownloadSigner
from filegate.domain.states import FileState
from filegate.services.files import MAX_PAGE, FileService
from tests.support.records import make_record

OWNER = "user:alice"
OTHER = "user:bob"
DOWNLOAD_TTL = timedelta(minutes=5)
POLL = timedelta(milliseconds=5)
TINY = timedelta(seconds=0.05)
DATA = b"image bytes"
# Generous bound that only a hung wait could reach; no test relies on timing inside it.
HANG_GUARD_SECONDS = 5


class ReadCountingRepository(MemoryRepository):
    """The in-memory repository, counting the owner-scoped reads that ``FileService`` makes."""

    owned_reads = 0

    async def get_owned(self, owner: str, file_id: str) -> FileRecord | None:
        self.owned_reads += 1
        return await super().get_owned(owner, file_id)


@dataclasses.dataclass
class Harness:
    files: FileService
    repository: ReadCountingRepository
    store: MemoryObjectStore
    signer: MemorySigner
    clock: ManualClock

    async def add(
        self, state: FileState = FileState.REGISTERED, owner: str = OWNER, **fields: Any
    ) -> FileRecord:
        record = await self.repository.add(make_record(owner, clock=self.clock, **fields))
        self.store.put_bytes(record.object_key, DATA)
        if state is not FileState.REGISTERED:
            record = await self.move(record, state)
        return record

    async def move(
        self, record: FileRecord, state: FileState, detected_type: str | None = None
    ) -> FileRecord:
        current = await self.repository.get(record.id)
        assert current is not None
        change = StateChange(state, Actor.WORKER, detected_type=detected_type)
        moved = await self.repository.transition(record.id, current.state, change)
        assert moved is not None
        return moved


@pytest.fixture
def h() -> Harness:
    clock = ManualClock()
    repository = ReadCountingRepository(clock)
    store = MemoryObjectStore()
    signer = MemorySigner(clock)
    checked: DownloadSigner = signer  # the fake implements the port (checked by mypy)
    files = FileService(repository, store, checked, clock, DOWNLOAD_TTL, poll_interval=POLL)
    return Harness(files, repository, store, signer, clock)


async def expect_error(code: ErrorCode, call: object) -> FilegateError:
    assert asyncio.iscoroutine(call)
    with pytest.raises(FilegateError) as raised:
        await call
    assert raised.value.code is code
    return raised.value


# -- get and list --------------------------------------------------------------------------


async def test_get_returns_the_owners_file(h: Harness) -> None:
    record = await h.add()
    assert await h.files.get(OWNER, record.id) == record


@pytest.mark.parametrize("whose", ["another-owner", "missing", "malformed"])
async def test_get_of_a_file_not_owned_is_not_found(h: Harness, whose: str) -> None:
    theirs = await h.add(owner=OTHER)
    file_id = {"another-owner": theirs.id, "missing": "f" * 32, "malformed": "../x"}[whose]
    await expect_error(ErrorCode.FILE_NOT_FOUND, h.files.get(OWNER, file_id))


async def test_list_pages_newest_first_through_every_file_once(h: Harness) -> None:
    created = []
    for _ in range(7):
        created.append((await h.add()).id)
        h.clock.advance(timedelta(seconds=1))
    await h.add(owner=OTHER)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await h.files.list(OWNER, None, 3, cursor)
        seen += [f.id for f in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == created[::-1]


async def test_list_filters_by_state(h: Harness) -> None:
    ready = await h.add(FileState.READY)
    await h.add()

    page = await h.files.list(OWNER, FileState.READY, 10, None)

    assert [f.id for f in page.items] == [ready.id]


@pytest.mark.parametrize(("asked", "given"), [(0, 1), (-5, 1), (MAX_PAGE + 1, MAX_PAGE)])
async def test_list_clamps_the_page_size(h: Harness, asked: int, given: int) -> None:
    for _ in range(MAX_PAGE + 1):
        await h.add()

    page = await h.files.list(OWNER, None, asked, None)

    assert len(page.items) == given
    assert page.next_cursor is not None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "e30", "WzEsMl0", "!!!"])
async def test_list_with_a_bad_cursor_is_a_validation_error(h: Harness, cursor: str) -> None:
    await h.add()
    await expect_error(ErrorCode.VALIDATION_ERROR, h.files.list(OWNER, None, 10, cursor))


# -- wait ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", [FileState.READY, FileState.REJECTED, FileState.EXPIRED, FileState.DELETED], ids=str
)
async def test_wait_returns_a_final_file_at_once(h: Harness, state: FileState) -> None:
    record = await h.add(state)
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        waited = await h.files.wait(OWNER, record.id, timedelta(hours=1))
    assert waited == record


async def test_wait_returns_when_the_file_becomes_final(h: Harness) -> None:
    record = await h.add(FileState.UPLOADED)

    async def verify_once_the_wait_has_looked() -> None:
        while h.repository.owned_reads == 0:
            await asyncio.sleep(0)
        await h.move(record, FileState.READY)

    async with asyncio.timeout(HANG_GUARD_SECONDS), asyncio.TaskGroup() as tasks:
        tasks.create_task(verify_once_the_wait_has_looked())
        waited = await h.files.wait(OWNER, record.id, timedelta(hours=1))

    assert waited.state is FileState.READY


async def test_wait_returns_the_current_file_after_the_timeout(h: Harness) -> None:
    record = await h.add(FileState.UPLOADED)
    waited = await h.files.wait(OWNER, record.id, TINY)
    assert waited == record


async def test_wait_for_a_file_not_owned_is_not_found(h: Harness) -> None:
    theirs = await h.add(owner=OTHER)
    await expect_error(ErrorCode.FILE_NOT_FOUND, h.files.wait(OWNER, theirs.id, TINY))


# -- download ------------------------------------------------------------------------------


async def test_download_signs_a_ready_file_with_its_detected_type_and_filename(
    h: Harness,
) -> None:
    record = await h.add(filename="holiday.heic", declared_type="image/heic")
    ready = await h.move(record, FileState.READY, detected_type="image/heif")

    signed = await h.files.download(OWNER, record.id)

    [asked] = h.signer.downloads
    assert (asked.key, asked.filename, asked.content_type, asked.expires_in) == (
        ready.object_key,
        "holiday.heic",
        "image/heif",
        DOWNLOAD_TTL,
    )
    assert signed.method == "GET"
    assert signed.expires_at == h.clock.now() + DOWNLOAD_TTL


@pytest.mark.parametrize("state", [s for s in FileState if s is not FileState.READY], ids=str)
async def test_download_before_ready_is_not_ready(h: Harness, state: FileState) -> None:
    record = await h.add(state)

    error = await expect_error(ErrorCode.NOT_READY, h.files.download(OWNER, record.id))

    assert error.extra == {"state": state.value}
    assert h.signer.downloads == []


async def test_download_of_another_owners_file_is_not_found(h: Harness) -> None:
    theirs = await h.add(FileState.READY, owner=OTHER)
    await expect_error(ErrorCode.FILE_NOT_FOUND, h.files.download(OWNER, theirs.id))


# -- delete --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [s for s in FileState if s is not FileState.DELETED], ids=str)
async def test_delete_removes_the_object_and_marks_the_file_deleted(
    h: Harness, state: FileState
) -> None:
    record = await h.add(state)

    await h.files.delete(OWNER, record.id)

    assert await h.store.head(record.object_key) is None
    deleted = await h.files.get(OWNER, record.id)
    assert (deleted.state, deleted.reason) == (
        FileState.DELETED,
        TransitionReason.DELETED_BY_OWNER.value,
    )
    [*_, last] = await h.repository.history(record.id)
    assert (last.from_state, last.to_state, last.actor) == (
        state,
        FileState.DELETED,
        Actor.API.value,
    )


async def test_delete_is_idempotent(h: Harness) -> None:
    record = await h.add(FileState.READY)

    await h.files.delete(OWNER, record.id)
    await h.files.delete(OWNER, record.id)

    history = await h.repository.history(record.id)
    assert [t.to_state for t in history].count(FileState.DELETED) == 1


async def test_delete_of_another_owners_file_is_not_found_and_keeps_it(h: Harness) -> None:
    theirs = await h.add(FileState.READY, owner=OTHER)

    await expect_error(ErrorCode.FILE_NOT_FOUND, h.files.delete(OWNER, theirs.id))

    assert await h.store.head(theirs.object_key) is not None
    assert (await h.files.get(OTHER, theirs.id)).state is FileState.READY


async def test_delete_keeps_the_file_when_the_store_fails(h: Harness) -> None:
    record = await h.add(FileState.READY)

    class Failing(MemoryObjectStore):
        async def delete(self, key: str) -> None:
            raise OSError("disk gone")

    files = FileService(h.repository, Failing(), h.signer, h.clock, DOWNLOAD_TTL)
    with pytest.raises(OSError, match="disk gone"):
        await files.delete(OWNER, record.id)

    assert (await h.files.get(OWNER, record.id)).state is FileState.READY


class UploadLandsDuringDelete(MemoryRepository):
    """The upload lands (object written, file UPLOADED) just before delete's first CAS."""

    def __init__(self, clock: ManualClock, store: MemoryObjectStore) -> None:
        super().__init__(clock)
        self.store = store
        self.raced = False

    async def transition(
        self, file_id: str, expected: FileState, change: StateChange
    ) -> FileRecord | None:
        if change.target is FileState.DELETED and not self.raced:
            self.raced = True
            current = await self.get(file_id)
            assert current is not None
            self.store.put_bytes(current.object_key, DATA)
            uploaded = StateChange(FileState.UPLOADED, Actor.STORE)
            await super().transition(file_id, FileState.REGISTERED, uploaded)
        return await super().transition(file_id, expected, change)


async def test_delete_wins_over_an_upload_landing_meanwhile(h: Harness) -> None:
    repository = UploadLandsDuringDelete(h.clock, h.store)
    record = await repository.add(make_record(OWNER, clock=h.clock))
    files = FileService(repository, h.store, h.signer, h.clock, DOWNLOAD_TTL)

    await files.delete(OWNER, record.id)

    assert repository.raced
    deleted = await files.get(OWNER, record.id)
    assert deleted.state is FileState.DELETED
    states = [(t.from_state, t.to_state) for t in await repository.history(record.id)]
    assert states[-2:] == [
        (FileState.REGISTERED, FileState.UPLOADED),
        (FileState.UPLOADED, FileState.DELETED),
    ]
    assert await h.store.head(record.object_key) is None  # no orphan bytes of a deleted file
