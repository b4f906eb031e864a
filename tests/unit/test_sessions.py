"""SessionService, SessionSweeper and OwnerPurger over the in-memory fakes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError, PoisonMessage
from filegate.domain.grants import UploadGrant
from filegate.domain.messages import encode_owner_purge
from filegate.domain.models import Transition
from filegate.domain.retention import Retention
from filegate.domain.sessions import OwnerPurge, SessionEnd
from filegate.domain.states import FileState
from tests.support.guests import ALICE, BOB, SESSION_TTL, Guests

MINUTE = timedelta(minutes=1)


@pytest.fixture
def g() -> Guests:
    return Guests()


def purge_of(session_id: str) -> str:
    return encode_owner_purge(OwnerPurge(f"session:{session_id}"))


# --- open --------------------------------------------------------------------------------


async def test_open_creates_a_live_session_with_whole_second_times(g: Guests) -> None:
    g.clock.advance(timedelta(microseconds=250_000))

    session = await g.sessions.open("203.0.113.9")

    assert session.created_at.microsecond == 0
    assert session.expires_at == session.created_at + SESSION_TTL
    assert session.is_live(g.clock.now())
    assert len(session.id) == 32
    assert await g.session_rows.get(session.id) == session


async def test_open_stores_a_keyed_hash_of_the_address_not_the_address(g: Guests) -> None:
    one = await g.sessions.open("203.0.113.9")
    two = await g.sessions.open("203.0.113.9")
    other = await g.sessions.open("198.51.100.1")

    assert one.client_hash == two.client_hash != other.client_hash
    assert one.client_hash is not None and "203" not in one.client_hash


async def test_open_is_rate_limited_per_address_per_minute(g: Guests) -> None:
    g.clock.advance(timedelta(seconds=20))
    for _ in range(3):
        await g.sessions.open("203.0.113.9")

    with pytest.raises(FilegateError) as refused:
        await g.sessions.open("203.0.113.9")

    assert refused.value.code is ErrorCode.RATE_LIMITED
    assert refused.value.extra == {"limit": 3, "retry_after": 40}
    await g.sessions.open("198.51.100.1")
    g.clock.advance(timedelta(seconds=40))
    await g.sessions.open("203.0.113.9")


async def test_a_rate_of_zero_turns_the_limit_off() -> None:
    g = Guests(rate_per_minute=0)
    for _ in range(10):
        await g.sessions.open(None)


# --- logout ------------------------------------------------------------------------------


async def test_logout_ends_the_session_revokes_its_grants_and_enqueues_its_purge(
    g: Guests,
) -> None:
    session = await g.sessions.open("a")
    now = g.clock.now()
    await g.grant_rows.add(UploadGrant("g1", session.owner.key, now, now + MINUTE, 5, 5))

    await g.sessions.logout(session.id)

    ended = await g.session_rows.get(session.id)
    assert ended is not None and ended.end_reason is SessionEnd.LOGOUT
    grant = await g.grant_rows.get("g1")
    assert grant is not None and grant.revoked_at == now
    assert await g.queued() == [purge_of(session.id)]


async def test_a_second_logout_enqueues_nothing(g: Guests) -> None:
    session = await g.sessions.open("a")
    await g.sessions.logout(session.id)
    await g.queued()

    await g.sessions.logout(session.id)

    assert await g.queued() == []


async def test_a_logout_whose_purge_cannot_be_sent_still_ends_and_is_swept_later(
    g: Guests, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await g.sessions.open("a")

    async def queue_down(bodies: object) -> None:
        raise BackendUnavailable("queue down")

    with monkeypatch.context() as patched:
        patched.setattr(g.queue, "send_batch", queue_down)
        await g.sessions.logout(session.id)

    ended = await g.session_rows.get(session.id)
    assert ended is not None and not ended.is_live(g.clock.now())
    g.clock.advance(timedelta(minutes=16))
    assert (await g.sweeper.sweep()).requeued == 1
    assert await g.queued() == [purge_of(session.id)]


# --- claim -------------------------------------------------------------------------------


async def test_claim_hands_the_files_to_the_user(g: Guests) -> None:
    session = await g.sessions.open("a")
    record = await g.stored_file(session.owner)

    claim = await g.sessions.claim(session.id, ALICE)

    assert claim.file_ids == (record.id,)
    assert (await g.files.get_owned(ALICE.key, record.id)) is not None
    assert await g.queued() == []  # a claimed session is never purged


async def test_claim_of_a_session_someone_else_claimed_is_not_found(g: Guests) -> None:
    session = await g.sessions.open("a")
    await g.sessions.claim(session.id, BOB)

    with pytest.raises(FilegateError) as refused:
        await g.sessions.claim(session.id, ALICE)

    assert refused.value.code is ErrorCode.SESSION_NOT_FOUND


# --- sweep -------------------------------------------------------------------------------


async def test_the_sweep_ends_expired_sessions_and_enqueues_their_purge(g: Guests) -> None:
    expired = await g.sessions.open("a")
    g.clock.advance(timedelta(hours=1))
    live = await g.sessions.open("a")
    g.clock.advance(SESSION_TTL - timedelta(hours=1))

    result = await g.sweeper.sweep()

    assert (result.expired, result.requeued) == (1, 0)
    ended = await g.session_rows.get(expired.id)
    assert ended is not None and ended.end_reason is SessionEnd.EXPIRED
    still = await g.session_rows.get(live.id)
    assert still is not None and still.ended_at is None
    assert await g.queued() == [purge_of(expired.id)]
    assert (await g.sweeper.sweep()).expired == 0


async def test_the_sweep_requests_a_purge_again_when_one_was_lost(g: Guests) -> None:
    session = await g.sessions.open("a")
    await g.sessions.logout(session.id)
    await g.queued()  # the purge message is lost
    g.clock.advance(timedelta(minutes=16))

    first = await g.sweeper.sweep()
    second = await g.sweeper.sweep()

    assert (first.requeued, second.requeued) == (1, 0)
    assert await g.queued() == [purge_of(session.id)]


async def test_the_sweep_forgets_old_rate_windows(g: Guests) -> None:
    await g.sessions.open("a")
    g.clock.advance(timedelta(minutes=3))
    assert (await g.sweeper.sweep()).pruned == 1


# --- purge -------------------------------------------------------------------------------


async def test_a_purge_deletes_objects_then_marks_rows_deleted_in_batches(g: Guests) -> None:
    session = await g.sessions.open("a")
    files = [await g.stored_file(session.owner) for _ in range(3)]
    other = await g.stored_file(ALICE)
    await g.sessions.logout(session.id)
    [body] = await g.queued()
    purge = OwnerPurge(json.loads(body)["owner"])

    await g.purger.handle(purge)  # a full batch of two: the next message follows
    assert await g.queued() == [body]
    await g.purger.handle(purge)

    for record in files:
        assert await g.store.head(record.object_key) is None
        stored = await g.files.get(record.id)
        assert stored is not None and stored.state is FileState.DELETED
        assert (await g.files.history(record.id))[-1] == Transition(
            record.id,
            FileState.REGISTERED,
            FileState.DELETED,
            "SESSION_ENDED",
            "worker",
            g.clock.now(),
        )
    assert await g.store.head(other.object_key) is not None
    assert (await g.files.get(other.id)) == other
    purged = await g.session_rows.get(session.id)
    assert purged is not None and purged.purged_at == g.clock.now()
    assert await g.queued() == []


async def test_a_purge_spares_retained_files(g: Guests) -> None:
    session = await g.sessions.open("a")
    pinned = await g.stored_file(session.owner)
    await g.files.set_retention(pinned.id, pinned.version, Retention(pinned=True), g.clock.now())
    await g.sessions.logout(session.id)

    await g.purger.handle(OwnerPurge(session.owner.key))

    assert await g.store.head(pinned.object_key) is not None
    kept = await g.files.get(pinned.id)
    assert kept is not None and kept.state is FileState.REGISTERED


async def test_a_replayed_purge_is_harmless(g: Guests) -> None:
    session = await g.sessions.open("a")
    await g.stored_file(session.owner)
    await g.sessions.logout(session.id)
    purge = OwnerPurge(session.owner.key)

    await g.purger.handle(purge)
    await g.purger.handle(purge)

    assert await g.session_rows.purgeable_files(session.owner.key, g.clock.now(), 10) == []


@pytest.mark.parametrize("state", ["live", "claimed", "missing"])
async def test_a_purge_of_a_session_that_may_not_be_purged_deletes_nothing(
    g: Guests, state: str
) -> None:
    session = await g.sessions.open("a")
    record = await g.stored_file(session.owner)
    if state == "claimed":
        await g.sessions.claim(session.id, ALICE)
    session_id = "nobody" if state == "missing" else session.id

    await g.purger.handle(OwnerPurge(f"session:{session_id}"))

    assert await g.store.head(record.object_key) is not None


@pytest.mark.parametrize("owner", ["user:alice", "nonsense", "robot:x"])
async def test_a_purge_of_anything_but_a_session_is_poison(g: Guests, owner: str) -> None:
    with pytest.raises(PoisonMessage):
        await g.purger.handle(OwnerPurge(owner))
