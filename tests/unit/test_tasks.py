"""The work-message handlers and their table: ``files.delete`` and ``owner.purge`` routed
through the batch processor to their services, and the ``owner.purge`` envelope."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from filegate.domain.errors import PoisonMessage
from filegate.domain.messages import (
    FILES_DELETE,
    OWNER_PURGE,
    Envelope,
    encode_files_delete,
    encode_object_created,
    encode_owner_purge,
    owner_purge_of,
    parse_events,
    parse_work,
)
from filegate.domain.models import FailureReason, Message, ObjectCreated
from filegate.domain.sessions import OwnerPurge
from filegate.domain.states import FileState
from filegate.services.lifecycle import RetentionEnforcer
from filegate.worker.batch import BatchProcessor, Dead, Succeeded, TaskHandler
from filegate.worker.retry import RetryPolicy
from filegate.worker.tasks import task_table
from tests.support.guests import Guests
from tests.support.records import make_record

RETRY = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=10))
HOUR = timedelta(hours=1)


class Uploads:
    """An upload-event handler that records the keys it saw."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def handle(self, event: ObjectCreated) -> None:
        self.keys.append(event.key)


def tasks_of(g: Guests) -> Mapping[str, TaskHandler]:
    """The task table over the guests' fakes."""
    return task_table(retention=RetentionEnforcer(g.files, g.store, g.clock), purger=g.purger)


def test_the_table_has_a_handler_for_every_work_message_type() -> None:
    assert set(tasks_of(Guests())) == {FILES_DELETE, OWNER_PURGE}


async def test_the_processor_routes_each_work_message_to_its_service() -> None:
    g = Guests()
    session = await g.sessions.open("a")
    guest_file = await g.stored_file(session.owner)
    await g.sessions.logout(session.id)
    expired = await g.files.add(make_record(clock=g.clock, retain_until=g.clock.now() - HOUR))
    g.store.put_bytes(expired.object_key, b"bytes")
    processor = BatchProcessor(Uploads(), RETRY, tasks=tasks_of(g))
    messages = [
        Message("m1", "r1", encode_owner_purge(OwnerPurge(session.owner.key)), 1),
        Message("m2", "r2", encode_files_delete([expired.id]), 1),
    ]

    result = await processor.process(messages)

    assert [type(o) for o in result.outcomes] == [Succeeded, Succeeded]
    for record in (guest_file, expired):
        current = await g.files.get(record.id)
        assert current is not None and current.state is FileState.DELETED


async def test_a_purge_that_can_never_succeed_fails_alone() -> None:
    g = Guests()
    uploads = Uploads()
    processor = BatchProcessor(uploads, RETRY, tasks=tasks_of(g))
    messages = [
        Message("m1", "r1", encode_object_created(ObjectCreated("k", 1, "e")), 1),
        Message("m2", "r2", encode_owner_purge(OwnerPurge("user:alice")), 1),
    ]

    result = await processor.process(messages)

    succeeded, dead = result.outcomes
    assert isinstance(succeeded, Succeeded) and uploads.keys == ["k"]
    assert isinstance(dead, Dead) and dead.reason is FailureReason.POISON
    assert result.failure_ids() == ["m2"]


def test_the_envelope_round_trips() -> None:
    body = encode_owner_purge(OwnerPurge("session:abc"))

    assert body == '{"v":1,"type":"owner.purge","owner":"session:abc"}'
    [envelope] = parse_work(body)
    assert isinstance(envelope, Envelope)
    assert owner_purge_of(envelope) == OwnerPurge("session:abc")


@pytest.mark.parametrize("owner", [None, 7, "", "x" * 201])
def test_a_malformed_owner_is_poison(owner: object) -> None:
    with pytest.raises(PoisonMessage):
        owner_purge_of(Envelope(OWNER_PURGE, {"v": 1, "type": OWNER_PURGE, "owner": owner}))


def test_upload_event_readers_never_mistake_a_purge_for_an_upload() -> None:
    body = encode_owner_purge(OwnerPurge("session:abc"))
    with pytest.raises(PoisonMessage):
        parse_events(body)
