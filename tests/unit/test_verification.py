"""Verifier: one compare-and-set per upload event, every rejection reason, replays as no-ops."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest

from filegate.adapters.memory import (
    DEFAULT_INSPECTION,
    MemoryObjectStore,
    MemoryRepository,
    ScriptedInspector,
)
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    Actor,
    FileRecord,
    ImageInfo,
    Inspection,
    ObjectCreated,
    RejectionReason,
    StateChange,
)
from filegate.domain.ports import ImageInspector
from filegate.domain.states import FileState
from filegate.services.verification import Verifier
from tests.support.records import make_record

DATA = b"\xff\xd8\xff pretend this is a jpeg"
SHA = hashlib.sha256(DATA).hexdigest()
PNG_INFO = ImageInfo(format="PNG", width=10, height=20, orientation=1, mode="RGBA")
HEIF_INFO = ImageInfo(format="HEIF", width=10, height=20, orientation=6, mode="RGB")


@dataclasses.dataclass
class Harness:
    verifier: Verifier
    repository: MemoryRepository
    store: MemoryObjectStore
    inspector: ScriptedInspector

    async def file(
        self,
        data: bytes | None = DATA,
        state: FileState = FileState.UPLOADED,
        **overrides: Any,
    ) -> FileRecord:
        """A file of ``len(DATA)`` declared bytes in ``state``, with ``data`` stored."""
        fields: dict[str, Any] = {"declared_size": len(DATA), **overrides}
        record = await self.repository.add(make_record(**fields))
        if state is not FileState.REGISTERED:
            change = StateChange(state, Actor.STORE)
            moved = await self.repository.transition(record.id, FileState.REGISTERED, change)
            assert moved is not None
            record = moved
        if data is not None:
            self.store.put_bytes(record.object_key, data)
        return record

    async def handle(self, record: FileRecord) -> FileRecord:
        """Handle the upload event of ``record``'s object; the file afterwards."""
        await self.verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag"))
        return await self.current(record)

    async def current(self, record: FileRecord) -> FileRecord:
        now = await self.repository.get(record.id)
        assert now is not None
        return now


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    repository = MemoryRepository(ManualClock())
    store = MemoryObjectStore()
    inspector = ScriptedInspector()
    checked: ImageInspector = inspector  # the fake implements the port (checked by mypy)
    verifier = Verifier(repository, store, checked, scratch_dir=tmp_path)
    return Harness(verifier, repository, store, inspector)


async def test_a_good_image_becomes_ready_with_its_facts(h: Harness) -> None:
    record = await h.file(declared_sha256=SHA)

    ready = await h.handle(record)

    assert ready.state is FileState.READY
    assert ready.reason is None
    assert ready.detected_type == "image/jpeg"
    assert ready.sha256 == SHA
    assert ready.image == DEFAULT_INSPECTION.image
    [*_, last] = await h.repository.history(record.id)
    assert (last.from_state, last.to_state, last.actor) == (
        FileState.UPLOADED,
        FileState.READY,
        Actor.WORKER.value,
    )


async def test_the_inspector_sees_a_copy_of_the_objects_bytes(h: Harness, tmp_path: Path) -> None:
    seen: list[bytes] = []

    class Reading(ScriptedInspector):
        async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
            seen.append(path.read_bytes())
            return await super().inspect(path, renditions_dir)

    verifier = Verifier(h.repository, h.store, Reading(), scratch_dir=tmp_path)
    record = await h.file()
    await verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag"))

    assert seen == [DATA]
    assert list(tmp_path.iterdir()) == []  # the scratch copy is gone


async def test_a_store_with_local_paths_is_inspected_in_place(tmp_path: Path) -> None:
    class FolderPaths:
        def path_of(self, key: str) -> Path:
            return tmp_path / key

    repository = MemoryRepository(ManualClock())
    store = MemoryObjectStore()
    inspector = ScriptedInspector()
    record = await repository.add(make_record(declared_size=len(DATA), declared_type="image/png"))
    store.put_bytes(record.object_key, DATA)
    local = tmp_path / record.object_key
    local.parent.mkdir(parents=True)
    local.write_bytes(DATA)
    inspector.script(local, Inspection(None, "image/png", PNG_INFO))

    await Verifier(repository, store, inspector, local_paths=FolderPaths()).handle(
        ObjectCreated(record.object_key, len(DATA), "etag")
    )

    assert inspector.inspected == [local]
    ready = await repository.get(record.id)
    assert ready is not None
    assert (ready.state, ready.image, ready.sha256) == (FileState.READY, PNG_INFO, SHA)


async def test_an_empty_object_is_rejected_as_empty(h: Harness) -> None:
    rejected = await h.handle(await h.file(b""))
    assert (rejected.state, rejected.reason) == (FileState.REJECTED, "EMPTY_FILE")
    assert h.inspector.inspected == []


async def test_an_object_of_another_size_is_rejected(h: Harness) -> None:
    rejected = await h.handle(await h.file(DATA + b"!"))
    assert (rejected.state, rejected.reason) == (FileState.REJECTED, "SIZE_MISMATCH")
    assert h.inspector.inspected == []


async def test_an_object_with_other_bytes_than_declared_is_rejected(h: Harness) -> None:
    record = await h.file(declared_sha256="0" * 64)

    rejected = await h.handle(record)

    assert (rejected.state, rejected.reason) == (FileState.REJECTED, "CHECKSUM_MISMATCH")
    assert rejected.sha256 == SHA  # what was actually stored
    assert h.inspector.inspected == []


async def test_without_a_declared_checksum_any_bytes_of_the_right_size_are_inspected(
    h: Harness,
) -> None:
    ready = await h.handle(await h.file(declared_sha256=None))
    assert ready.state is FileState.READY
    assert ready.sha256 == SHA


@pytest.mark.parametrize(
    "reason",
    [
        RejectionReason.NOT_AN_IMAGE,
        RejectionReason.UNSUPPORTED_FORMAT,
        RejectionReason.CORRUPT_IMAGE,
        RejectionReason.IMAGE_TOO_LARGE,
        RejectionReason.TOO_MANY_FRAMES,
        RejectionReason.DECODE_TIMEOUT,
        RejectionReason.DECODE_MEMORY_EXCEEDED,
    ],
    ids=str,
)
async def test_the_inspectors_reason_rejects_the_file(h: Harness, reason: RejectionReason) -> None:
    h.inspector.default = Inspection(reason)

    rejected = await h.handle(await h.file())

    assert (rejected.state, rejected.reason) == (FileState.REJECTED, reason.value)
    assert rejected.sha256 == SHA
    assert rejected.image is None


async def test_bytes_of_another_image_type_than_declared_are_rejected(h: Harness) -> None:
    h.inspector.default = Inspection(None, "image/png", PNG_INFO)

    rejected = await h.handle(await h.file(declared_type="image/jpeg"))

    assert (rejected.state, rejected.reason) == (FileState.REJECTED, "TYPE_MISMATCH")
    assert rejected.detected_type == "image/png"
    assert rejected.image is None


@pytest.mark.parametrize(
    ("declared", "detected"),
    [("image/heic", "image/heif"), ("image/heif", "image/heic"), ("image/heif", "image/heif")],
)
async def test_heic_and_heif_are_the_same_type(h: Harness, declared: str, detected: str) -> None:
    h.inspector.default = Inspection(None, detected, HEIF_INFO)

    ready = await h.handle(await h.file(declared_type=declared))

    assert ready.state is FileState.READY
    assert (ready.detected_type, ready.image) == (detected, HEIF_INFO)


@pytest.mark.parametrize("state", [FileState.REGISTERED, FileState.UPLOADED], ids=str)
async def test_verification_starts_from_registered_or_uploaded(
    h: Harness, state: FileState
) -> None:
    record = await h.file(state=state)

    ready = await h.handle(record)

    assert ready.state is FileState.READY
    [*_, last] = await h.repository.history(record.id)
    assert (last.from_state, last.to_state) == (state, FileState.READY)


async def test_a_replayed_event_after_ready_is_a_no_op(h: Harness) -> None:
    record = await h.file()
    ready = await h.handle(record)

    again = await h.handle(record)

    assert again == ready
    history = await h.repository.history(record.id)
    assert [t.to_state for t in history].count(FileState.READY) == 1
    assert len(h.inspector.inspected) == 1


@pytest.mark.parametrize(
    "state", [FileState.REJECTED, FileState.EXPIRED, FileState.DELETED], ids=str
)
async def test_an_event_for_a_final_file_changes_nothing(h: Harness, state: FileState) -> None:
    record = await h.file(state=state)
    before = await h.repository.history(record.id)

    after = await h.handle(record)

    assert after.state is state
    assert await h.repository.history(record.id) == before
    assert h.inspector.inspected == []


async def test_an_event_for_an_unknown_key_is_a_no_op(h: Harness) -> None:
    await h.verifier.handle(ObjectCreated("0123456789abcdef/nobody", 3, "etag"))
    assert h.inspector.inspected == []


async def test_an_event_for_a_missing_object_is_a_no_op(h: Harness) -> None:
    record = await h.file(data=None)

    after = await h.handle(record)

    assert after == record
    assert len(await h.repository.history(record.id)) == 2
    assert h.inspector.inspected == []


async def test_an_unavailable_inspector_propagates_and_leaves_the_file(h: Harness) -> None:
    record = await h.file()
    h.inspector.failure = BackendUnavailable("decode pool is down")

    with pytest.raises(BackendUnavailable):
        await h.handle(record)

    assert await h.current(record) == record
    assert len(await h.repository.history(record.id)) == 2


async def test_a_file_deleted_during_verification_stays_deleted(h: Harness) -> None:
    record = await h.file()

    class DeletingMeanwhile(ScriptedInspector):
        async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
            change = StateChange(FileState.DELETED, Actor.API)
            await h.repository.transition(record.id, FileState.UPLOADED, change)
            return await super().inspect(path, renditions_dir)

    verifier = Verifier(h.repository, h.store, DeletingMeanwhile())
    await verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag"))

    after = await h.current(record)
    assert after.state is FileState.DELETED
    assert [t.to_state for t in await h.repository.history(record.id)][-1] is FileState.DELETED


class PrefixedKeys:
    """Event keys as a prefixed S3 store's notifications name them."""

    def key_of_event(self, event_key: str) -> str | None:
        return event_key.removeprefix("uploads/") if event_key.startswith("uploads/") else None


def _prefixed(h: Harness, tmp_path: Path) -> Verifier:
    return Verifier(
        h.repository, h.store, h.inspector, scratch_dir=tmp_path, event_keys=PrefixedKeys()
    )


async def test_event_keys_are_mapped_back_to_filegate_keys(h: Harness, tmp_path: Path) -> None:
    record = await h.file()

    await _prefixed(h, tmp_path).handle(
        ObjectCreated(f"uploads/{record.object_key}", len(DATA), "etag")
    )

    assert (await h.current(record)).state is FileState.READY


async def test_events_for_keys_outside_the_store_are_ignored(h: Harness, tmp_path: Path) -> None:
    record = await h.file()

    await _prefixed(h, tmp_path).handle(ObjectCreated(record.object_key, len(DATA), "etag"))

    assert (await h.current(record)).state is FileState.UPLOADED


async def test_the_applied_sequencer_is_recorded(h: Harness) -> None:
    record = await h.file()
    await h.verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag", "00A2"))
    applied = await h.current(record)
    assert (applied.state, applied.last_sequencer) == (FileState.READY, "00A2")


async def test_an_event_older_than_the_last_applied_one_is_dropped(h: Harness) -> None:
    record = await h.file(last_sequencer="00A2")
    await h.verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag", "00A1"))
    assert (await h.current(record)).state is FileState.UPLOADED
    await h.verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag", "00A3"))
    assert (await h.current(record)).state is FileState.READY
