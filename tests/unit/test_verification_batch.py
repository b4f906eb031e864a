"""Verifier.handle_batch: shared files, a failed transaction, a cancelled batch."""

from __future__ import annotations

import asyncio
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
    RenditionName,
    StateChange,
)
from filegate.domain.renditions import rendition_keys
from filegate.domain.states import FileState
from filegate.services.verification import Verifier
from tests.support.records import make_record

DATA = b"\xff\xd8\xff pretend this is a jpeg"


class FailingTransitions(MemoryRepository):
    """Loads files, but every transaction applying verdicts fails."""

    async def transition_many(
        self, changes: Sequence[tuple[str, FileState, StateChange]]
    ) -> list[FileRecord | None]:
        raise BackendUnavailable("database down")


class UnprefixedKeys:
    """Event keys with or without the ``uploads/`` prefix name the same object."""

    def key_of_event(self, event_key: str) -> str | None:
        return event_key.removeprefix("uploads/")


@dataclasses.dataclass
class Harness:
    repository: MemoryRepository
    store: MemoryObjectStore
    inspector: ScriptedInspector
    scratch: Path

    def verifier(self, inspector: ScriptedInspector | None = None) -> Verifier:
        return Verifier(
            self.repository,
            self.store,
            inspector or self.inspector,
            scratch_dir=self.scratch,
            event_keys=UnprefixedKeys(),
        )

    async def uploaded(self) -> FileRecord:
        record = await self.repository.add(make_record(declared_size=len(DATA)))
        change = StateChange(FileState.UPLOADED, Actor.STORE)
        moved = await self.repository.transition(record.id, FileState.REGISTERED, change)
        assert moved is not None
        self.store.put_bytes(record.object_key, DATA)
        return moved

    async def state(self, record: FileRecord) -> FileState:
        current = await self.repository.get(record.id)
        assert current is not None
        return current.state

    async def stored_renditions(self, record: FileRecord) -> list[str]:
        return [key for key in rendition_keys(record.object_key) if await self.store.head(key)]


def harness(tmp_path: Path, repository: MemoryRepository) -> Harness:
    inspector = ScriptedInspector()
    inspector.renders = {RenditionName.THUMB: b"RIFF thumb WEBP"}
    return Harness(repository, MemoryObjectStore(), inspector, tmp_path)


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return harness(tmp_path, MemoryRepository(ManualClock()))


def event(key: str) -> ObjectCreated:
    return ObjectCreated(key, len(DATA), "etag")


async def test_events_naming_one_file_share_one_examination(h: Harness) -> None:
    record = await h.uploaded()
    events = [event(f"uploads/{record.object_key}"), event(record.object_key)]

    errors = await h.verifier().handle_batch(events, asyncio.Semaphore(10))

    assert errors == [None, None]
    assert len(h.inspector.inspected) == 1
    assert await h.state(record) is FileState.READY


async def test_a_failed_transaction_fails_only_the_events_with_a_verdict(tmp_path: Path) -> None:
    h = harness(tmp_path, FailingTransitions(ManualClock()))
    record = await h.uploaded()
    events = [event(record.object_key), event("no/such-file")]

    errors = await h.verifier().handle_batch(events, asyncio.Semaphore(10))

    assert [type(error) for error in errors] == [BackendUnavailable, type(None)]
    assert h.inspector.renditions_dirs  # renditions were made and stored, then removed
    assert await h.stored_renditions(record) == []
    assert await h.state(record) is FileState.UPLOADED


async def test_a_cancelled_batch_leaves_no_rendition_behind(h: Harness) -> None:
    done, stuck = await h.uploaded(), await h.uploaded()
    inspector = h.inspector
    hanging = asyncio.Event()

    class HangsOnSecondFile(ScriptedInspector):
        """Answers the first file; hangs on the next until cancelled."""

        async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
            if inspector.inspected:
                hanging.set()
                await asyncio.Event().wait()
            return await inspector.inspect(path, renditions_dir)

    verifier = h.verifier(HangsOnSecondFile())
    batch = asyncio.create_task(
        verifier.handle_batch(
            [event(done.object_key), event(stuck.object_key)], asyncio.Semaphore(1)
        )
    )
    await hanging.wait()  # the first file is examined and its renditions stored
    assert await h.stored_renditions(done) != []
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch

    assert await h.stored_renditions(done) == []
    assert [await h.state(done), await h.state(stuck)] == [FileState.UPLOADED] * 2


async def test_the_loser_of_two_verifications_keeps_the_winners_renditions(h: Harness) -> None:
    record = await h.uploaded()
    inspector = h.inspector
    both_inside = asyncio.Barrier(2)

    class Together(ScriptedInspector):
        """Lets two verifications of the same file decode at the same time."""

        async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
            await both_inside.wait()
            return await inspector.inspect(path, renditions_dir)

    verifier = h.verifier(Together())
    # Two batches in flight, each with an event for the file (say the S3 notification and
    # the client's complete): both examine it, one compare-and-set wins.
    first, second = await asyncio.gather(
        verifier.handle_batch([event(record.object_key)], asyncio.Semaphore(1)),
        verifier.handle_batch([event(f"uploads/{record.object_key}")], asyncio.Semaphore(1)),
    )

    assert (first, second) == ([None], [None])
    assert await h.state(record) is FileState.READY
    assert await h.stored_renditions(record) != []
