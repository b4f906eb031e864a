"""Renditions on real parts: SQLite, and the local store or S3 on moto.

Each file is verified by the real Verifier (the scripted inspector writes the rendition
files), so its renditions are stored by ``ObjectStore.put``. Then every way a file ends —
owner delete, session purge, retention expiry, a lost object — must take its renditions
with it, and the reconciler must remove renditions whose file is gone while keeping
those of live files.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.memory import MemoryQueue, ScriptedInspector
from filegate.adapters.s3.store import open_s3_store
from filegate.adapters.s3.url import S3Location
from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock, SystemClock
from filegate.domain.models import (
    Actor,
    FileRecord,
    ObjectCreated,
    RenditionName,
    StateChange,
    UploadSpec,
)
from filegate.domain.renditions import rendition_key, rendition_keys
from filegate.domain.sessions import GuestSession, OwnerPurge, SessionEnd
from filegate.domain.states import FileState
from filegate.services.files import FileService
from filegate.services.lifecycle import RetentionEnforcer
from filegate.services.purge import OwnerPurger
from filegate.services.reconciler import ReconcilePolicy, Reconciler
from filegate.services.uploads import UploadRecorder
from filegate.services.verification import Verifier
from tests.support.moto_server import REGION, aio_session, create_bucket
from tests.support.records import make_record

MINUTE = timedelta(minutes=1)
POLICY = ReconcilePolicy(
    lost_event_after=5 * MINUTE, stuck_after=15 * MINUTE, orphan_grace=60 * MINUTE
)
DATA = b"\xff\xd8 an original"
OWNER = "user:alice"


@dataclasses.dataclass
class World:
    database: Database
    repository: SqlRepository
    store: Any  # LocalObjectStore or S3ObjectStore: ObjectStore and ObjectLister
    clock: ManualClock
    scratch: Path
    write_original: Any  # async (key, data) -> None, the way clients' bytes arrive

    def verifier(self) -> Verifier:
        inspector = ScriptedInspector()
        inspector.renders = {RenditionName.THUMB: b"thumb", RenditionName.PREVIEW: b"preview"}
        return Verifier(self.repository, self.store, inspector, scratch_dir=self.scratch)

    def reconciler(self) -> Reconciler:
        queries = SqlLifecycleRepository(self.database)
        queue = MemoryQueue(clock=self.clock)
        ledger = SeparateUploadLedger(self.repository, queue)
        uploads = UploadRecorder(self.repository, self.store, ledger, self.clock, grace=MINUTE)
        return Reconciler(
            self.repository,
            queries=queries,
            usage=queries,
            store=self.store,
            uploads=uploads,
            queue=queue,
            clock=self.clock,
            policy=POLICY,
            lister=self.store,
        )

    async def ready(self, owner: str = OWNER, **overrides: Any) -> FileRecord:
        """A file verified READY, its original and both renditions stored."""
        record = await self.repository.add(
            make_record(owner, clock=self.clock, declared_size=len(DATA), **overrides)
        )
        await self.write_original(record.object_key, DATA)
        uploaded = await self.repository.transition(
            record.id, FileState.REGISTERED, StateChange(FileState.UPLOADED, Actor.STORE)
        )
        assert uploaded is not None
        await self.verifier().handle(ObjectCreated(record.object_key, len(DATA), "etag"))
        ready = await self.repository.get(record.id)
        assert ready is not None and ready.state is FileState.READY
        assert len(ready.renditions) == 2
        assert await self.stored(ready) == [record.object_key, *rendition_keys(record.object_key)]
        return ready

    async def stored(self, record: FileRecord) -> list[str]:
        """Which of the record's original and rendition keys hold an object."""
        keys = [record.object_key, *rendition_keys(record.object_key)]
        return [key for key in keys if await self.store.head(key) is not None]

    async def state_of(self, record: FileRecord) -> FileState:
        current = await self.repository.get(record.id)
        assert current is not None
        return current.state


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture(params=["local", "s3"])
async def world(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[World]:
    database = open_database(sqlite_url)
    clock = ManualClock(SystemClock().now())  # stores stamp objects with real times
    repository = SqlRepository(database, clock)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    try:
        if request.param == "local":
            signer = UrlSigner({"k1": b"renditions-test-key-0123456789"}, "k1")
            store = LocalObjectStore(tmp_path / "objects", "http://store.test", signer, clock)

            async def write_local(key: str, data: bytes) -> None:
                spec = UploadSpec(len(data), "image/jpeg", hashlib.sha256(data).hexdigest())
                await store.write_upload(key, _once(data), spec)

            yield World(database, repository, store, clock, scratch, write_local)
            return
        endpoint: str = request.getfixturevalue("moto_endpoint")
        location = S3Location(create_bucket(endpoint), "fg/", endpoint, REGION, True)
        session = aio_session()
        async with (
            open_s3_store(location, clock, session=session) as s3_store,
            session.create_client("s3", endpoint_url=endpoint, region_name=REGION) as client,
        ):

            async def write_s3(key: str, data: bytes) -> None:
                await client.put_object(Bucket=location.bucket, Key="fg/" + key, Body=data)

            yield World(database, repository, s3_store, clock, scratch, write_s3)
    finally:
        await database.dispose()


async def test_an_owner_delete_removes_the_renditions(world: World) -> None:
    record = await world.ready()
    files = FileService(world.repository, world.store, world.store, world.clock, MINUTE)

    await files.delete(OWNER, record.id)

    assert await world.state_of(record) is FileState.DELETED
    assert await world.stored(record) == []


async def test_retention_expiry_removes_the_renditions(world: World) -> None:
    record = await world.ready(retain_until=world.clock.now() + MINUTE)
    world.clock.advance(2 * MINUTE)

    result = await RetentionEnforcer(world.repository, world.store, world.clock).delete_due(
        [record.id]
    )

    assert result.deleted == 1
    assert await world.stored(record) == []


async def test_a_session_purge_removes_the_renditions(world: World) -> None:
    sessions = SqlSessionRepository(world.database)
    now = world.clock.now()
    guest = GuestSession("s" * 32, now, now + timedelta(hours=6))
    await sessions.add(guest)
    record = await world.ready(guest.owner.key)
    await sessions.end(guest.id, SessionEnd.LOGOUT, world.clock.now())
    purger = OwnerPurger(
        world.repository, sessions, sessions, world.store, MemoryQueue(), world.clock
    )

    await purger.handle(OwnerPurge(guest.owner.key))

    assert await world.state_of(record) is FileState.DELETED
    assert await world.stored(record) == []


async def test_a_ready_file_whose_original_is_lost_loses_its_renditions_too(
    world: World,
) -> None:
    record = await world.ready()
    await world.store.delete(record.object_key)

    result = await world.reconciler().run()

    assert result.missing_objects == 1
    assert await world.state_of(record) is FileState.DELETED
    assert await world.stored(record) == []


async def test_the_reconciler_deletes_renditions_of_gone_files_and_keeps_live_ones(
    world: World,
) -> None:
    live = await world.ready()
    gone = await world.ready()
    # Leftovers as a crash would leave them: the row moved on, the renditions stayed.
    await world.repository.transition(gone.id, FileState.READY, _to(FileState.DELETED))
    await world.store.delete(gone.object_key)
    no_row_key = "0123456789abcdef/" + "e" * 32 + ".thumb"
    await world.store.put(no_row_key, _file(world.scratch, b"stray"), "image/webp")
    rejected = await _rejected_with_a_stray_rendition(world)
    world.clock.advance(POLICY.orphan_grace + MINUTE)

    result = await world.reconciler().run()

    assert result.orphans_deleted == 4  # gone's two, the row-less one, the rejected one's
    assert await world.stored(live) == [live.object_key, *rendition_keys(live.object_key)]
    assert await world.stored(gone) == []
    assert await world.store.head(no_row_key) is None
    assert await world.stored(rejected) == [rejected.object_key]  # its original is kept
    again = await world.reconciler().run()
    assert again.orphans_deleted == 0


async def test_a_missing_rendition_of_a_ready_file_is_counted_and_the_file_kept(
    world: World,
) -> None:
    record = await world.ready()
    await world.store.delete(rendition_key(record.object_key, RenditionName.PREVIEW))

    result = await world.reconciler().run()

    assert (result.renditions_missing, result.missing_objects) == (1, 0)
    assert await world.state_of(record) is FileState.READY


async def _rejected_with_a_stray_rendition(world: World) -> FileRecord:
    """A REJECTED file (its original kept, as rejections keep it) with a rendition left."""
    record = await world.repository.add(
        make_record(OWNER, clock=world.clock, declared_size=len(DATA))
    )
    await world.write_original(record.object_key, DATA)
    for before, after in [
        (FileState.REGISTERED, FileState.UPLOADED),
        (FileState.UPLOADED, FileState.REJECTED),
    ]:
        assert await world.repository.transition(record.id, before, _to(after)) is not None
    key = rendition_key(record.object_key, RenditionName.THUMB)
    await world.store.put(key, _file(world.scratch, b"stray"), "image/webp")
    return record


def _to(state: FileState) -> StateChange:
    return StateChange(state, Actor.WORKER)


def _file(folder: Path, data: bytes) -> Path:
    path = folder / hashlib.sha256(data).hexdigest()
    path.write_bytes(data)
    return path
