"""PreviewService: which file may be previewed, and what the signed link says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from filegate.adapters.memory import MemoryRepository, MemorySigner
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Actor, FileRecord, Rendition, RenditionName, StateChange
from filegate.domain.states import FileState
from filegate.services.previews import PreviewService, preview_filename
from tests.support.records import make_record

OWNER = "user:alice"
TTL = timedelta(minutes=5)
THUMB = Rendition(RenditionName.THUMB, "image/webp", 320, 240, 1234)


@pytest.fixture
def repository() -> MemoryRepository:
    return MemoryRepository(ManualClock())


async def stored(
    repository: MemoryRepository, *states: FileState, renditions: tuple[Rendition, ...] = ()
) -> FileRecord:
    record = await repository.add(make_record(OWNER, filename="Beach day.jpeg"))
    for state in states:
        change = StateChange(state, Actor.WORKER, renditions=renditions)
        moved = await repository.transition(record.id, record.state, change)
        assert moved is not None
        record = moved
    return record


async def expect(
    code: ErrorCode, service: PreviewService, file_id: str, owner: str = OWNER
) -> None:
    with pytest.raises(FilegateError) as raised:
        await service.sign(owner, file_id, RenditionName.THUMB)
    assert raised.value.code is code


async def test_a_ready_files_rendition_is_signed_inline_as_its_own_type(
    repository: MemoryRepository,
) -> None:
    signer = MemorySigner()
    service = PreviewService(repository, signer, TTL)
    record = await stored(repository, FileState.UPLOADED, FileState.READY, renditions=(THUMB,))

    signed = await service.sign(OWNER, record.id, RenditionName.THUMB)

    [download] = signer.downloads
    assert download.key == f"{record.object_key}.thumb"
    assert (download.content_type, download.inline, download.expires_in) == (
        "image/webp",
        True,
        TTL,
    )
    assert download.filename == "Beach day.thumb.webp"
    assert signed.method == "GET"


async def test_refusals(repository: MemoryRepository) -> None:
    service = PreviewService(repository, MemorySigner(), TTL)
    waiting = await stored(repository, FileState.UPLOADED)
    bare = await stored(repository, FileState.UPLOADED, FileState.READY)
    only_thumb = await stored(repository, FileState.UPLOADED, FileState.READY, renditions=(THUMB,))

    await expect(ErrorCode.NOT_READY, service, waiting.id)
    await expect(ErrorCode.FILE_NOT_FOUND, service, bare.id, owner="user:bob")
    await expect(ErrorCode.FILE_NOT_FOUND, service, "0" * 32)
    await expect(ErrorCode.NO_RENDITION, service, bare.id)
    with pytest.raises(FilegateError) as raised:
        await service.sign(OWNER, only_thumb.id, RenditionName.PREVIEW)
    assert raised.value.code is ErrorCode.NO_RENDITION
    assert raised.value.extra == {"size": "preview"}


@pytest.mark.parametrize(
    ("original", "content_type", "expected"),
    [
        ("photo.jpg", "image/webp", "photo.thumb.webp"),
        ("IMG_0001.HEIC", "image/jpeg", "IMG_0001.thumb.jpg"),
        ("no-extension", "image/webp", "no-extension.thumb.webp"),
        (".jpg", "image/webp", ".jpg.thumb.webp"),
    ],
)
def test_preview_filenames(original: str, content_type: str, expected: str) -> None:
    rendition = Rendition(RenditionName.THUMB, content_type, 1, 1, 1)
    assert preview_filename(original, rendition) == expected
