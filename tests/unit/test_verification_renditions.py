"""Verifier and renditions: stored before READY, none for a rejection, none left behind
when the verdict cannot be applied."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from filegate.adapters.memory import MemoryObjectStore, MemoryRepository, ScriptedInspector
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    Actor,
    FileRecord,
    Inspection,
    ObjectCreated,
    RejectionReason,
    RenditionName,
    StateChange,
)
from filegate.domain.renditions import rendition_key, rendition_keys
from filegate.domain.states import FileState
from filegate.services.verification import Verifier
from tests.support.records import make_record

DATA = b"\xff\xd8\xff pretend this is a jpeg"
THUMB = b"RIFF thumb WEBP"
PREVIEW = b"RIFF preview WEBP"


@dataclasses.dataclass
class Harness:
    repository: MemoryRepository
    store: MemoryObjectStore
    inspector: ScriptedInspector
    scratch: Path

    def verifier(self, repository: MemoryRepository | None = None) -> Verifier:
        return Verifier(
            repository or self.repository, self.store, self.inspector, scratch_dir=self.scratch
        )

    async def uploaded(self) -> FileRecord:
        record = await self.repository.add(make_record(declared_size=len(DATA)))
        moved = await self.repository.transition(
            record.id, FileState.REGISTERED, StateChange(FileState.UPLOADED, Actor.STORE)
        )
        assert moved is not None
        self.store.put_bytes(record.object_key, DATA)
        return moved

    async def handle(self, record: FileRecord, verifier: Verifier | None = None) -> FileRecord:
        await (verifier or self.verifier()).handle(
            ObjectCreated(record.object_key, len(DATA), "etag")
        )
        now = await self.repository.get(record.id)
        assert now is not None
        return now

    async def stored_renditions(self, record: FileRecord) -> list[str]:
        return [key for key in rendition_keys(record.object_key) if await self.store.head(key)]


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    inspector = ScriptedInspector(
        dataclasses.replace(
            ScriptedInspector().default, placeholder="LEHV6nWB2yk8", perceptual_hash=2**63 + 5
        )
    )
    inspector.renders = {RenditionName.THUMB: THUMB, RenditionName.PREVIEW: PREVIEW}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return Harness(MemoryRepository(ManualClock()), MemoryObjectStore(), inspector, scratch)


async def read(store: MemoryObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def test_an_accepted_image_is_ready_with_its_stored_renditions(h: Harness) -> None:
    record = await h.uploaded()

    ready = await h.handle(record)

    assert ready.state is FileState.READY
    assert [r.name for r in ready.renditions] == [RenditionName.THUMB, RenditionName.PREVIEW]
    assert [r.size for r in ready.renditions] == [len(THUMB), len(PREVIEW)]
    assert (ready.placeholder, ready.perceptual_hash) == ("LEHV6nWB2yk8", 2**63 + 5)
    thumb_key = rendition_key(record.object_key, RenditionName.THUMB)
    preview_key = rendition_key(record.object_key, RenditionName.PREVIEW)
    assert await read(h.store, thumb_key) == THUMB
    assert await read(h.store, preview_key) == PREVIEW
    assert h.store.content_types[thumb_key] == "image/webp"


async def test_the_renditions_directory_is_under_the_scratch_dir_and_removed(h: Harness) -> None:
    record = await h.uploaded()

    await h.handle(record)

    [folder] = h.inspector.renditions_dirs
    assert folder.parent == h.scratch
    assert list(h.scratch.iterdir()) == []


async def test_a_rejected_file_stores_no_rendition(h: Harness) -> None:
    h.inspector.default = Inspection(RejectionReason.CORRUPT_IMAGE, "image/jpeg")
    record = await h.uploaded()

    rejected = await h.handle(record)

    assert rejected.state is FileState.REJECTED
    assert rejected.renditions == ()
    assert await h.stored_renditions(record) == []


async def test_a_type_mismatch_stores_none_of_the_renditions_the_inspector_made(
    h: Harness,
) -> None:
    h.inspector.default = dataclasses.replace(h.inspector.default, content_type="image/png")
    record = await h.uploaded()

    rejected = await h.handle(record)

    assert rejected.reason == RejectionReason.TYPE_MISMATCH.value
    assert len(h.inspector.renditions_dirs) == 1  # renditions were made, then dropped
    assert await h.stored_renditions(record) == []
    assert list(h.scratch.iterdir()) == []


async def test_renditions_of_a_file_deleted_during_verification_are_deleted(h: Harness) -> None:
    record = await h.uploaded()
    inspector = h.inspector

    class DeletingMeanwhile(ScriptedInspector):
        async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
            change = StateChange(FileState.DELETED, Actor.API)
            await h.repository.transition(record.id, FileState.UPLOADED, change)
            return await inspector.inspect(path, renditions_dir)

    verifier = Verifier(h.repository, h.store, DeletingMeanwhile(), scratch_dir=h.scratch)
    after = await h.handle(record, verifier)

    assert after.state is FileState.DELETED
    assert inspector.renditions_dirs  # the renditions were made and stored, then removed
    assert await h.stored_renditions(record) == []


async def test_renditions_are_deleted_when_the_transition_fails(h: Harness) -> None:
    record = await h.uploaded()

    class FailingTransition(MemoryRepository):
        async def transition_many(
            self, changes: Sequence[tuple[str, FileState, StateChange]]
        ) -> list[FileRecord | None]:
            raise BackendUnavailable("database down")

    failing = FailingTransition(ManualClock())
    await failing.add(record)
    h.store.put_bytes(record.object_key, DATA)

    with pytest.raises(BackendUnavailable):
        await h.verifier(failing).handle(ObjectCreated(record.object_key, len(DATA), "etag"))

    assert h.inspector.renditions_dirs
    assert await h.stored_renditions(record) == []


async def test_a_failed_put_leaves_no_rendition_and_the_file_waiting(h: Harness) -> None:
    record = await h.uploaded()
    real_put = h.store.put
    calls: list[str] = []

    async def put_then_fail(key: str, path: Path, content_type: str) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise BackendUnavailable("store down")
        await real_put(key, path, content_type)

    h.store.put = put_then_fail  # type: ignore[method-assign]

    with pytest.raises(BackendUnavailable):
        await h.handle(record)

    assert len(calls) == 2  # the first rendition was stored before the failure
    assert await h.stored_renditions(record) == []
    current = await h.repository.get(record.id)
    assert current is not None and current.state is FileState.UPLOADED


async def test_the_scripted_inspector_writes_renditions_only_when_asked_and_accepted(
    h: Harness, tmp_path: Path
) -> None:
    image = tmp_path / "image"
    rejected_image = tmp_path / "rejected"
    h.inspector.script(rejected_image, Inspection(RejectionReason.CORRUPT_IMAGE, "image/jpeg"))
    folder = tmp_path / "out"
    folder.mkdir()

    without_dir = await h.inspector.inspect(image)
    rejected = await h.inspector.inspect(rejected_image, folder)
    assert list(folder.iterdir()) == []
    accepted = await h.inspector.inspect(image, folder)

    assert without_dir.renditions == rejected.renditions == ()
    assert sorted(Path(f.path).read_bytes() for f in accepted.renditions) == sorted(
        [THUMB, PREVIEW]
    )
    assert all(Path(f.path).parent == folder for f in accepted.renditions)
