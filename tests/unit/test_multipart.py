"""MultipartService: part plans, part URLs on demand, resume, completion, one upload per file."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryObjectStore, MemoryQueue, MemoryRepository
from filegate.adapters.memory.multipart import MemoryMultipartUploads
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.messages import parse_events
from filegate.domain.models import FileRecord, MultipartUpload, UploadedPart
from filegate.domain.states import FileState
from filegate.services.multipart import MIN_PART_SIZE, MultipartService, PartPlan
from filegate.services.uploads import UploadRecorder
from tests.support.records import UPLOAD_WINDOW, make_record

MIB = 1024 * 1024
THRESHOLD = 16 * MIB
OWNER = "user:alice"


@dataclasses.dataclass
class Harness:
    service: MultipartService
    repository: MemoryRepository
    parts: MemoryMultipartUploads
    queue: MemoryQueue
    clock: ManualClock

    async def file(self, size: int = 20 * MIB, owner: str = OWNER) -> FileRecord:
        return await self.repository.add(
            make_record(owner=owner, clock=self.clock, declared_size=size)
        )


@pytest.fixture
def h() -> Harness:
    clock = ManualClock()
    repository = MemoryRepository(clock)
    store = MemoryObjectStore()
    queue = MemoryQueue(clock=clock)
    parts = MemoryMultipartUploads(store, clock, min_part_bytes=MIB)
    ledger = SeparateUploadLedger(repository, queue)
    recorder = UploadRecorder(repository, store, ledger, clock, grace=timedelta(minutes=5))
    service = MultipartService(repository, parts, recorder, clock, timedelta(minutes=15), THRESHOLD)
    return Harness(service, repository, parts, queue, clock)


@pytest.mark.parametrize(
    ("total", "size", "count", "last"),
    [
        (20 * MIB, MIN_PART_SIZE, 3, 4 * MIB),
        (16 * MIB, MIN_PART_SIZE, 2, MIN_PART_SIZE),
        (1, MIN_PART_SIZE, 1, 1),
        (200_000 * MIB, 20 * MIB, 10_000, 20 * MIB),
    ],
)
def test_part_plans_cover_the_file_in_at_most_ten_thousand_parts(
    total: int, size: int, count: int, last: int
) -> None:
    plan = PartPlan.for_size(total)
    assert (plan.size, plan.count, plan.last_size) == (size, count, last)
    assert plan.size * (plan.count - 1) + plan.last_size == total


def test_small_files_get_no_multipart_instructions(h: Harness) -> None:
    record = make_record(declared_size=THRESHOLD - 1)
    assert h.service.instructions(record) is None
    big = make_record(declared_size=THRESHOLD)
    instructions = h.service.instructions(big)
    assert instructions is not None
    assert instructions.plan == PartPlan.for_size(THRESHOLD)


async def test_part_urls_start_one_upload_and_bind_each_part_size(h: Harness) -> None:
    record = await h.file()

    urls = await h.service.part_urls(OWNER, record.id, [3, 1])
    again = await h.service.part_urls(OWNER, record.id, [2])

    assert sorted(u.number for u in urls) == [1, 3]
    lengths = {u.number: u.headers["Content-Length"] for u in [*urls, *again]}
    assert lengths == {1: str(MIN_PART_SIZE), 2: str(MIN_PART_SIZE), 3: str(4 * MIB)}
    stored = await h.repository.get(record.id)
    assert stored is not None and stored.multipart_upload_id is not None


async def test_part_numbers_outside_the_plan_are_refused(h: Harness) -> None:
    record = await h.file()
    for numbers in ([0], [4], []):
        with pytest.raises(FilegateError) as raised:
            await h.service.part_urls(OWNER, record.id, numbers)
        assert raised.value.code is ErrorCode.VALIDATION_ERROR


async def test_another_owner_gets_not_found(h: Harness) -> None:
    record = await h.file()
    with pytest.raises(FilegateError) as raised:
        await h.service.part_urls("user:bob", record.id, [1])
    assert raised.value.code is ErrorCode.FILE_NOT_FOUND


async def test_a_small_file_has_no_parts(h: Harness) -> None:
    record = await h.file(size=MIB)
    with pytest.raises(FilegateError) as raised:
        await h.service.part_urls(OWNER, record.id, [1])
    assert raised.value.code is ErrorCode.INVALID_STATE


async def test_upload_resume_and_complete(h: Harness) -> None:
    record = await h.file()
    assert await h.service.uploaded_parts(OWNER, record.id) == []
    await h.service.part_urls(OWNER, record.id, [1, 2, 3])
    current = await h.repository.get(record.id)
    assert current is not None
    upload = current.multipart_upload_id
    assert upload is not None
    handle = MultipartUpload(record.object_key, upload)
    sizes = {1: MIN_PART_SIZE, 2: MIN_PART_SIZE, 3: 4 * MIB}
    etags = {n: h.parts.put_part(handle, n, bytes([n]) * sizes[n]) for n in (1, 2)}

    listed = await h.service.uploaded_parts(OWNER, record.id)
    assert [p.number for p in listed] == [1, 2]

    etags[3] = h.parts.put_part(handle, 3, b"\x03" * sizes[3])
    chosen = [UploadedPart(n, etags[n], sizes[n]) for n in (1, 2, 3)]
    done = await h.service.complete(OWNER, record.id, chosen)

    assert done.state is FileState.UPLOADED
    [message] = await h.queue.receive(10, timedelta(seconds=30), timedelta(0))
    [event] = parse_events(message.body)
    assert (event.key, event.size) == (record.object_key, 20 * MIB)
    again = await h.service.complete(OWNER, record.id, chosen)
    assert again.state is FileState.UPLOADED


async def test_complete_without_parts_is_incomplete(h: Harness) -> None:
    record = await h.file()
    with pytest.raises(FilegateError) as raised:
        await h.service.complete(OWNER, record.id, [UploadedPart(1, "x", 1)])
    assert raised.value.code is ErrorCode.UPLOAD_INCOMPLETE


async def test_no_part_urls_after_the_upload_window(h: Harness) -> None:
    record = await h.file()
    h.clock.advance(UPLOAD_WINDOW)
    with pytest.raises(FilegateError) as raised:
        await h.service.part_urls(OWNER, record.id, [1])
    assert raised.value.code is ErrorCode.INVALID_STATE


async def test_part_urls_never_outlive_the_upload_window(h: Harness) -> None:
    record = await h.file()
    h.clock.advance(UPLOAD_WINDOW - timedelta(minutes=1))
    [url] = await h.service.part_urls(OWNER, record.id, [1])
    assert url.expires_at <= record.upload_expires_at
