"""The ``FileRepository`` contract, run against every adapter of the port."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from filegate.adapters.memory import MemoryRepository
from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.repository import SqlRepository
from filegate.domain.clock import ManualClock
from filegate.domain.cursor import encode_cursor
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    Actor,
    FileRecord,
    ImageInfo,
    PrintSize,
    RejectionReason,
    Rendition,
    RenditionName,
    StateChange,
    Transition,
    TransitionReason,
)
from filegate.domain.ports import FileRepository, UsageLedger
from filegate.domain.quotas import QuotaExceeded, QuotaKind, QuotaLimits, Usage
from filegate.domain.states import FileState
from tests.support.records import make_record

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
IMAGE = ImageInfo(format="JPEG", width=4032, height=3024, orientation=6, mode="RGB", frames=1)
FACTS = dataclasses.replace(
    IMAGE,
    bit_depth=8,
    cmyk=False,
    icc_embedded=True,
    icc_description="Display P3",
    dpi=(300.0, 299.5),
    captured_at="2024-05-01T12:30:00+02:00",
    camera_make="Apple",
    camera_model="iPhone 15",
    has_location=True,
)
RENDITIONS = (
    Rendition(RenditionName.THUMB, "image/webp", 240, 320, 9_123),
    Rendition(RenditionName.PREVIEW, "image/webp", 1200, 1600, 201_456),
)
HIGH_BIT_HASH = 0xF0E1D2C3B4A59687
"""A perceptual hash with the top bit set: must survive a signed BIGINT column."""
SHA = "ab" * 32
UPLOADED = StateChange(FileState.UPLOADED, Actor.STORE)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@dataclasses.dataclass(frozen=True)
class Backend:
    files: FileRepository
    ledger: UsageLedger


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = MemoryRepository(clock)
        yield Backend(memory, memory)
        return
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    try:
        yield Backend(SqlRepository(database, clock), SqlLifecycleRepository(database))
    finally:
        await database.dispose()


@pytest.fixture
def repository(backend: Backend) -> FileRepository:
    return backend.files


async def add_at(repository: FileRepository, at: datetime, **overrides: Any) -> FileRecord:
    return await repository.add(make_record(created_at=at, **overrides))


# --- add / get -------------------------------------------------------------------------


async def test_add_then_get_round_trips_every_field(repository: FileRepository) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    record = make_record(
        "session:s-1",
        created_at=at,
        updated_at=at + timedelta(seconds=1),
        upload_expires_at=at + timedelta(minutes=15),
        filename="Ünïcode café.jpeg",
        declared_size=123_456_789_012,
        declared_type="image/heic",
        declared_sha256=SHA,
        version=3,
        reason="SOMETHING",
        detected_type="image/heif",
        sha256="cd" * 32,
        image=IMAGE,
        metadata={"album": "été", "tags": ["a", "b"], "n": 1.5, "ok": True, "none": None},
    )
    await repository.add(record)
    assert await repository.get(record.id) == record


async def test_add_then_get_keeps_empty_fields_empty(repository: FileRepository) -> None:
    record = make_record()
    await repository.add(record)
    stored = await repository.get(record.id)
    assert stored == record
    assert stored is not None
    assert (stored.declared_sha256, stored.sha256, stored.image, stored.reason) == (None,) * 4
    assert stored.metadata == {}


async def test_times_come_back_timezone_aware_utc(repository: FileRepository) -> None:
    record = await repository.add(make_record(created_at=datetime(2026, 5, 1, tzinfo=UTC)))
    stored = await repository.get(record.id)
    assert stored is not None
    for moment in (stored.created_at, stored.updated_at, stored.upload_expires_at):
        assert moment.utcoffset() == timedelta(0)


async def test_add_writes_the_first_history_row(repository: FileRepository) -> None:
    record = await repository.add(make_record())
    assert await repository.history(record.id) == [
        Transition(record.id, None, FileState.REGISTERED, None, "api", record.created_at)
    ]


async def test_get_of_an_unknown_id_is_none(repository: FileRepository) -> None:
    assert await repository.get("no-such-id") is None
    assert await repository.history("no-such-id") == []


async def test_duplicate_id_raises_value_error(repository: FileRepository) -> None:
    first = await repository.add(make_record())
    with pytest.raises(ValueError):
        await repository.add(make_record(id=first.id, object_key="other/key"))


async def test_duplicate_object_key_raises_and_reserves_no_idempotency_key(
    repository: FileRepository,
) -> None:
    first = await repository.add(make_record())
    with pytest.raises(ValueError):
        await repository.add(make_record(object_key=first.object_key), idempotency_key="k")
    retried = await repository.add(make_record(), idempotency_key="k")
    assert await repository.get(retried.id) == retried


# --- add_many --------------------------------------------------------------------------


async def test_add_many_round_trips_records_and_first_history_rows(
    repository: FileRepository,
) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    records = [
        make_record(created_at=at, filename="a.jpg", metadata={"n": 1}),
        make_record("session:s-1", created_at=at + timedelta(seconds=1), declared_sha256=SHA),
        make_record(created_at=at + timedelta(seconds=2), declared_size=7),
    ]

    assert await repository.add_many(records) == records

    for record in records:
        assert await repository.get(record.id) == record
        assert await repository.history(record.id) == [
            Transition(record.id, None, FileState.REGISTERED, None, "api", record.created_at)
        ]


async def test_add_many_admits_in_order_like_add_one_after_another(backend: Backend) -> None:
    owner, other = "user:alice", "user:bob"
    await backend.files.add(make_record(owner, declared_size=100))
    sizes = [300, 700, 200, 100, 50]
    records = [make_record(owner, declared_size=size) for size in sizes]
    records.insert(2, make_record(other, declared_size=900))

    outcomes = await backend.files.add_many(records, QuotaLimits(max_files=4, max_bytes=1000))

    refused = [(o.kind, o.usage) for o in outcomes if isinstance(o, QuotaExceeded)]
    assert refused == [(QuotaKind.BYTES, 400), (QuotaKind.FILES, 4)]
    assert [isinstance(o, FileRecord) for o in outcomes] == [True, False, True, True, True, False]
    for record, outcome in zip(records, outcomes, strict=True):
        written = await backend.files.get(record.id)
        assert written == (record if isinstance(outcome, FileRecord) else None)
    assert await backend.ledger.usage(owner) == Usage(4, 4, 700)
    assert await backend.ledger.usage(other) == Usage(1, 1, 900)
    assert await backend.ledger.recount_usage() == 0


async def test_add_many_of_nothing_writes_nothing(backend: Backend) -> None:
    assert await backend.files.add_many([], QuotaLimits(max_files=1)) == []
    assert await backend.ledger.usage("user:alice") == Usage()


async def test_add_many_with_a_duplicate_raises_and_writes_nothing(backend: Backend) -> None:
    first = await backend.files.add(make_record())
    fresh = make_record()
    with pytest.raises(ValueError):
        await backend.files.add_many([fresh, make_record(id=first.id, object_key="other/key")])
    assert await backend.files.get(fresh.id) is None
    assert await backend.ledger.usage(first.owner) == Usage(1, 1, first.declared_size)


# --- idempotency -----------------------------------------------------------------------


async def test_same_key_same_owner_returns_the_first_file(repository: FileRepository) -> None:
    first = await repository.add(make_record(filename="a.jpg"), idempotency_key="k1")
    again = make_record(filename="b.jpg")
    returned = await repository.add(again, idempotency_key="k1")
    assert returned == first
    assert await repository.get(again.id) is None
    assert len(await repository.history(first.id)) == 1


async def test_same_key_other_owner_creates_a_new_file(repository: FileRepository) -> None:
    alice = await repository.add(make_record("user:alice"), idempotency_key="k1")
    bob = await repository.add(make_record("user:bob"), idempotency_key="k1")
    assert bob.id != alice.id
    assert await repository.get(bob.id) == bob


async def test_adds_without_a_key_are_never_merged(repository: FileRepository) -> None:
    first = await repository.add(make_record())
    second = await repository.add(make_record())
    assert await repository.get(first.id) == first
    assert await repository.get(second.id) == second


# --- ownership and lookups -------------------------------------------------------------


async def test_get_owned_hides_other_owners_files(repository: FileRepository) -> None:
    record = await repository.add(make_record("user:alice"))
    assert await repository.get_owned("user:alice", record.id) == record
    assert await repository.get_owned("user:bob", record.id) is None
    assert await repository.get_owned("user:alice", "no-such-id") is None


async def test_get_by_key_finds_the_file_stored_under_it(repository: FileRepository) -> None:
    record = await repository.add(make_record())
    await repository.add(make_record())
    assert await repository.get_by_key(record.object_key) == record
    assert await repository.get_by_key("nobody/nothing") is None


# --- transitions -----------------------------------------------------------------------


async def test_transition_bumps_version_and_writes_one_history_row(
    repository: FileRepository, clock: ManualClock
) -> None:
    record = await repository.add(make_record(clock=clock))
    clock.advance(timedelta(seconds=30))
    updated = await repository.transition(record.id, FileState.REGISTERED, UPLOADED)
    assert updated is not None
    assert (updated.state, updated.version, updated.updated_at) == (
        FileState.UPLOADED,
        record.version + 1,
        clock.now(),
    )
    assert await repository.get(record.id) == updated
    history = await repository.history(record.id)
    assert history[1:] == [
        Transition(record.id, FileState.REGISTERED, FileState.UPLOADED, None, "store", clock.now())
    ]


async def test_transition_stores_the_facts_it_is_given(
    repository: FileRepository, clock: ManualClock
) -> None:
    record = await repository.add(make_record())
    await repository.transition(
        record.id, FileState.REGISTERED, StateChange(FileState.UPLOADED, Actor.STORE, sha256=SHA)
    )
    ready = StateChange(FileState.READY, Actor.WORKER, detected_type="image/jpeg", image=IMAGE)
    updated = await repository.transition(record.id, FileState.UPLOADED, ready)
    assert updated is not None
    assert (updated.sha256, updated.detected_type, updated.image) == (SHA, "image/jpeg", IMAGE)
    assert await repository.get(record.id) == updated


async def test_transition_stores_facts_placeholder_hash_and_renditions(
    repository: FileRepository,
) -> None:
    record = await repository.add(make_record(state=FileState.UPLOADED))
    ready = StateChange(
        FileState.READY,
        Actor.WORKER,
        image=FACTS,
        placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        perceptual_hash=HIGH_BIT_HASH,
        renditions=RENDITIONS,
    )
    updated = await repository.transition(record.id, FileState.UPLOADED, ready)
    assert updated is not None
    stored = await repository.get(record.id)
    assert stored == updated
    assert (stored.image, stored.placeholder) == (FACTS, "LEHV6nWB2yk8pyo0adR*.7kCMdnj")
    assert (stored.perceptual_hash, stored.renditions) == (HIGH_BIT_HASH, RENDITIONS)


async def test_add_then_get_round_trips_a_print_size(repository: FileRepository) -> None:
    record = make_record(print_size=PrintSize(210.0, 297.0))
    await repository.add(record)
    stored = await repository.get(record.id)
    assert stored is not None and stored.print_size == PrintSize(210.0, 297.0)


async def test_transition_records_the_reason(repository: FileRepository) -> None:
    record = await repository.add(make_record())
    reason = RejectionReason.NOT_AN_IMAGE.value
    change = StateChange(FileState.REJECTED, Actor.WORKER, reason=reason)
    updated = await repository.transition(record.id, FileState.REGISTERED, change)
    assert updated is not None
    assert updated.reason == reason
    last = (await repository.history(record.id))[-1]
    assert (last.reason, last.actor) == (reason, "worker")


async def test_transition_from_the_wrong_state_writes_nothing(
    repository: FileRepository, clock: ManualClock
) -> None:
    record = await repository.add(make_record())
    clock.advance(timedelta(seconds=5))
    change = StateChange(FileState.READY, Actor.WORKER, image=IMAGE)
    assert await repository.transition(record.id, FileState.UPLOADED, change) is None
    assert await repository.get(record.id) == record
    assert len(await repository.history(record.id)) == 1


async def test_transition_of_a_missing_file_is_none(repository: FileRepository) -> None:
    assert await repository.transition("no-such-id", FileState.REGISTERED, UPLOADED) is None


FORBIDDEN = [
    (FileState.READY, FileState.UPLOADED),
    (FileState.DELETED, FileState.DELETED),
    (FileState.UPLOADED, FileState.EXPIRED),
    (FileState.REGISTERED, FileState.REGISTERED),
]


async def test_forbidden_transitions_raise_and_write_nothing(repository: FileRepository) -> None:
    for expected, target in FORBIDDEN:
        record = await repository.add(make_record(state=expected))
        with pytest.raises(ValueError):
            await repository.transition(record.id, expected, StateChange(target, Actor.API))
        assert await repository.get(record.id) == record
        assert len(await repository.history(record.id)) == 1


async def test_a_replayed_transition_is_a_no_op(repository: FileRepository) -> None:
    record = await repository.add(make_record())
    first = await repository.transition(record.id, FileState.REGISTERED, UPLOADED)
    assert await repository.transition(record.id, FileState.REGISTERED, UPLOADED) is None
    assert await repository.get(record.id) == first
    assert len(await repository.history(record.id)) == 2


async def test_add_with_dedupe_returns_the_owners_oldest_ready_duplicate(
    backend: Backend,
) -> None:
    repository = backend.files
    older = await repository.add(make_record(state=FileState.UPLOADED, created_at=T0))
    newer = await repository.add(
        make_record(state=FileState.UPLOADED, created_at=T0 + timedelta(seconds=1))
    )
    facts = StateChange(FileState.READY, Actor.WORKER, sha256=SHA)
    for record in (newer, older):
        await repository.transition(record.id, FileState.UPLOADED, facts)
    before = await backend.ledger.usage(older.owner)

    declared = make_record(declared_sha256=SHA)
    found = await repository.add(declared, "key-1", QuotaLimits(max_files=2), dedupe=True)
    batch = await repository.add_many(
        [make_record(declared_sha256=SHA), make_record("user:bob", declared_sha256=SHA)],
        dedupe=True,
    )

    assert found.id == older.id
    assert batch[0] == found and isinstance(batch[1], FileRecord) and batch[1].owner == "user:bob"
    assert await repository.get(declared.id) is None
    assert await backend.ledger.usage(older.owner) == before
    assert await repository.add(declared, dedupe=False) == declared


async def test_add_with_dedupe_takes_only_a_ready_file_as_the_duplicate(
    backend: Backend,
) -> None:
    repository = backend.files
    rejected = await repository.add(make_record(state=FileState.UPLOADED))
    await repository.transition(
        rejected.id, FileState.UPLOADED, StateChange(FileState.REJECTED, Actor.WORKER, sha256=SHA)
    )
    await repository.add(make_record(declared_sha256=SHA))  # registered, not verified

    declared = make_record(declared_sha256=SHA)

    assert await repository.add(declared, dedupe=True) == declared


async def test_get_many_by_key_returns_the_files_found_by_their_keys(
    repository: FileRepository,
) -> None:
    first = await repository.add(make_record())
    second = await repository.add(make_record("user:bob"))
    await repository.add(make_record())
    wanted = [first.object_key, "nobody/nothing", second.object_key, first.object_key]
    found = await repository.get_many_by_key(wanted)
    assert found == {first.object_key: first, second.object_key: second}
    assert await repository.get_many_by_key([]) == {}


async def test_transition_many_sets_each_file_on_its_own(
    backend: Backend, clock: ManualClock
) -> None:
    repository = backend.files
    moved = await repository.add(make_record(clock=clock))
    stale = await repository.add(make_record(clock=clock, state=FileState.UPLOADED))
    clock.advance(timedelta(seconds=30))
    ready = StateChange(FileState.READY, Actor.WORKER, sha256=SHA, image=IMAGE)
    rejected = StateChange(FileState.REJECTED, Actor.WORKER, reason="not_an_image")

    results = await repository.transition_many(
        [
            (moved.id, FileState.REGISTERED, UPLOADED),
            (stale.id, FileState.REGISTERED, rejected),
            ("no-such-id", FileState.UPLOADED, ready),
            (moved.id, FileState.UPLOADED, ready),
        ]
    )

    first, missed, missing, second = results
    assert (missed, missing) == (None, None)
    assert first is not None and (first.state, first.version) == (FileState.UPLOADED, 2)
    assert second is not None and (second.state, second.version) == (FileState.READY, 3)
    assert second.sha256 == SHA and second.image == IMAGE
    assert await repository.get(moved.id) == second
    assert await repository.get(stale.id) == stale
    assert [t.to_state for t in await repository.history(moved.id)] == [
        FileState.REGISTERED,
        FileState.UPLOADED,
        FileState.READY,
    ]
    assert len(await repository.history(stale.id)) == 1
    size = moved.declared_size + stale.declared_size
    assert await backend.ledger.usage(moved.owner) == Usage(1, 2, size)


async def test_transition_many_with_a_forbidden_step_writes_nothing(
    repository: FileRepository,
) -> None:
    record = await repository.add(make_record())
    ready = await repository.add(make_record(state=FileState.READY))
    with pytest.raises(ValueError):
        await repository.transition_many(
            [
                (record.id, FileState.REGISTERED, UPLOADED),
                (ready.id, FileState.READY, StateChange(FileState.UPLOADED, Actor.API)),
            ]
        )
    assert await repository.get(record.id) == record
    assert len(await repository.history(record.id)) == 1


async def test_transition_many_of_nothing_is_empty(repository: FileRepository) -> None:
    assert await repository.transition_many([]) == []


# --- listing ---------------------------------------------------------------------------

T0 = datetime(2026, 2, 1, tzinfo=UTC)


async def test_list_owned_is_newest_first_with_id_breaking_ties(
    repository: FileRepository,
) -> None:
    old = await add_at(repository, T0)
    tied = [
        await add_at(repository, T0 + timedelta(minutes=1), id=i) for i in ("t-a", "t-c", "t-b")
    ]
    new = await add_at(repository, T0 + timedelta(minutes=2))
    page = await repository.list_owned("user:alice", None, 10, None)
    tied_desc = sorted(tied, key=lambda f: f.id, reverse=True)
    assert page.items == [new, *tied_desc, old]
    assert page.next_cursor is None


async def test_list_owned_shows_only_the_owners_files(repository: FileRepository) -> None:
    mine = await add_at(repository, T0, owner="user:alice")
    await add_at(repository, T0 + timedelta(seconds=1), owner="user:bob")
    page = await repository.list_owned("user:alice", None, 10, None)
    assert page.items == [mine]


async def test_list_owned_filters_by_state(repository: FileRepository) -> None:
    record = await add_at(repository, T0)
    await add_at(repository, T0 + timedelta(seconds=1))
    uploaded = await repository.transition(record.id, FileState.REGISTERED, UPLOADED)
    assert uploaded is not None
    page = await repository.list_owned("user:alice", FileState.UPLOADED, 10, None)
    assert page.items == [uploaded]
    assert (await repository.list_owned("user:alice", FileState.READY, 10, None)).items == []


async def test_pagination_visits_every_file_once(repository: FileRepository) -> None:
    for total in (7, 9):  # a short last page; an exact multiple of the page size
        owner = f"user:{total}"
        # Pairs share a created_at so that page boundaries fall inside ties.
        added = [
            await add_at(repository, T0 + timedelta(seconds=i // 2), owner=owner)
            for i in range(total)
        ]
        expected = sorted(added, key=lambda f: (f.created_at, f.id), reverse=True)
        pages = await all_pages(repository, owner, limit=3)
        assert [f for page in pages for f in page] == expected
        assert len(pages) == -(-total // 3)  # no empty trailing page


async def all_pages(repository: FileRepository, owner: str, limit: int) -> list[list[FileRecord]]:
    """Follow ``next_cursor`` from the first page to the last."""
    pages: list[list[FileRecord]] = []
    cursor: str | None = None
    while True:
        page = await repository.list_owned(owner, None, limit, cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_pagination_respects_the_state_filter(repository: FileRepository) -> None:
    records = [await add_at(repository, T0 + timedelta(seconds=i)) for i in range(5)]
    for record in records[::2]:
        await repository.transition(record.id, FileState.REGISTERED, UPLOADED)
    first = await repository.list_owned("user:alice", FileState.REGISTERED, 1, None)
    rest = await repository.list_owned("user:alice", FileState.REGISTERED, 5, first.next_cursor)
    assert [f.id for f in first.items + rest.items] == [records[3].id, records[1].id]
    assert rest.next_cursor is None


BAD_CURSORS = {
    "not base64": "%%%",
    "not json": "bm90IGpzb24",
    "not a time and id": "WzEsMl0",
    "a naive time": "WyIyMDI2LTAxLTAxIiwgIngiXQ",
}


async def test_a_bad_cursor_raises_value_error(repository: FileRepository) -> None:
    for cursor in BAD_CURSORS.values():
        with pytest.raises(ValueError):
            await repository.list_owned("user:alice", None, 10, cursor)


async def test_a_cursor_of_a_deleted_row_still_continues(repository: FileRepository) -> None:
    older = await add_at(repository, T0)
    ghost = make_record(created_at=T0 + timedelta(seconds=1))
    page = await repository.list_owned("user:alice", None, 10, encode_cursor(ghost))
    assert page.items == [older]


# --- expiry sweep ----------------------------------------------------------------------


async def test_registered_before_lists_due_registered_files_by_deadline(
    repository: FileRepository,
) -> None:
    deadline = T0 + timedelta(hours=2)
    late = await add_at(repository, T0, upload_expires_at=deadline - timedelta(minutes=1))
    early = await add_at(repository, T0, upload_expires_at=deadline - timedelta(minutes=30))
    await add_at(repository, T0, upload_expires_at=deadline)  # not before: equal
    await add_at(repository, T0, upload_expires_at=deadline + timedelta(minutes=1))
    done = await add_at(repository, T0, upload_expires_at=T0)
    await repository.transition(done.id, FileState.REGISTERED, UPLOADED)
    assert await repository.registered_before(deadline, 10) == [early, late]
    assert await repository.registered_before(deadline, 1) == [early]


async def test_expiry_and_deletion_record_their_reasons(repository: FileRepository) -> None:
    record = await repository.add(make_record())
    expired = StateChange(FileState.EXPIRED, Actor.SWEEPER, TransitionReason.UPLOAD_EXPIRED)
    deleted = StateChange(FileState.DELETED, Actor.API, TransitionReason.DELETED_BY_OWNER)
    await repository.transition(record.id, FileState.REGISTERED, expired)
    final = await repository.transition(record.id, FileState.EXPIRED, deleted)
    assert final is not None
    assert (final.state, final.reason, final.version) == (FileState.DELETED, "DELETED_BY_OWNER", 3)
    steps = [(t.from_state, t.to_state, t.actor) for t in await repository.history(record.id)]
    assert steps == [
        (None, FileState.REGISTERED, "api"),
        (FileState.REGISTERED, FileState.EXPIRED, "sweeper"),
        (FileState.EXPIRED, FileState.DELETED, "api"),
    ]


# --- SQL adapter only ------------------------------------------------------------------


async def test_an_unreachable_database_raises_backend_unavailable(clock: ManualClock) -> None:
    database = open_database("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        repository = SqlRepository(database, clock)
        with pytest.raises(BackendUnavailable) as caught:
            await repository.get("any")
        assert caught.value.__cause__ is not None
        with pytest.raises(BackendUnavailable):
            await repository.add(make_record())
    finally:
        await database.dispose()


async def test_set_multipart_upload_only_once_and_only_while_registered(
    repository: FileRepository,
) -> None:
    record = await repository.add(make_record())

    first = await repository.set_multipart_upload(record.id, "upload-1")
    second = await repository.set_multipart_upload(record.id, "upload-2")

    assert first is not None and first.multipart_upload_id == "upload-1"
    assert second is None
    stored = await repository.get(record.id)
    assert stored is not None and stored.multipart_upload_id == "upload-1"
    other = await repository.add(make_record())
    change = StateChange(FileState.EXPIRED, Actor.SWEEPER)
    await repository.transition(other.id, FileState.REGISTERED, change)
    assert await repository.set_multipart_upload(other.id, "late") is None
    assert await repository.set_multipart_upload("no-such-file", "x") is None
