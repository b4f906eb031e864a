"""Reconciler and renditions on the in-memory fakes: which leftovers are orphans, when."""

from __future__ import annotations

from filegate.domain.models import Actor, Rendition, RenditionName, StateChange
from filegate.domain.renditions import rendition_key, rendition_keys
from filegate.domain.states import FileState
from tests.unit.test_reconciler import DATA, MINUTE, POLICY, Harness, harness


def with_renditions(h: Harness, object_key: str) -> list[str]:
    keys = list(rendition_keys(object_key))
    for key in keys:
        h.store.put_bytes(key, DATA)
    return keys


async def present(h: Harness, keys: list[str]) -> list[str]:
    return [key for key in keys if await h.store.head(key) is not None]


async def test_renditions_of_gone_or_rejected_files_are_deleted_after_the_grace() -> None:
    h = harness()
    deleted = await h.add(FileState.DELETED, stored=False)
    expired = await h.add(FileState.EXPIRED, stored=False)
    rejected = await h.add(FileState.UPLOADED, FileState.REJECTED)
    no_row = "0123456789abcdef/" + "a" * 32
    leftovers = [
        *with_renditions(h, deleted.object_key),
        *with_renditions(h, expired.object_key),
        *with_renditions(h, rejected.object_key),
        *with_renditions(h, no_row),
    ]
    h.clock.advance(POLICY.orphan_grace + MINUTE)

    result = await h.reconciler.run()

    assert result.orphans_deleted == 8
    assert await present(h, leftovers) == []
    assert await h.store.head(rejected.object_key) is not None  # a rejected original stays


async def test_renditions_of_live_files_and_young_leftovers_are_kept() -> None:
    h = harness()
    ready = await h.add(FileState.UPLOADED, FileState.READY)
    verifying = await h.add(FileState.UPLOADED)  # stored just before its READY transition
    kept = [*with_renditions(h, ready.object_key), *with_renditions(h, verifying.object_key)]
    h.clock.advance(POLICY.orphan_grace + MINUTE)
    young = await h.add(FileState.DELETED, stored=False)
    young_keys = with_renditions(h, young.object_key)

    result = await h.reconciler.run()

    assert result.orphans_deleted == 0
    assert await present(h, kept + young_keys) == kept + young_keys


async def test_only_filegate_shaped_rendition_keys_are_considered() -> None:
    h = harness()
    foreign = [
        "0123456789abcdef/" + "a" * 32 + ".small",
        "0123456789abcdef/" + "a" * 32 + ".thumb.bak",
        "someone/else.thumb",
    ]
    for key in foreign:
        h.store.put_bytes(key, DATA)
    h.clock.advance(2 * POLICY.orphan_grace)

    result = await h.reconciler.run()

    assert (result.orphans_deleted, result.objects_listed) == (0, 3)


async def test_a_ready_files_missing_rendition_is_counted_each_run() -> None:
    h = harness()
    uploaded = await h.add(FileState.UPLOADED)
    listed = tuple(Rendition(name, "image/webp", 32, 24, len(DATA)) for name in RenditionName)
    change = StateChange(FileState.READY, Actor.WORKER, renditions=listed)
    ready = await h.repository.transition(uploaded.id, FileState.UPLOADED, change)
    assert ready is not None and len(ready.renditions) == 2
    h.store.put_bytes(rendition_key(ready.object_key, RenditionName.THUMB), DATA)

    first = await h.reconciler.run()
    second = await h.reconciler.run()

    assert (first.renditions_missing, second.renditions_missing) == (1, 1)
    assert await h.state_of(ready) is FileState.READY
