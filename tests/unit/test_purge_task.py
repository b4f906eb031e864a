"""The ``owner.purge`` work message: its envelope, and its route through the batch processor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from filegate.domain.errors import PoisonMessage
from filegate.domain.messages import (
    OWNER_PURGE,
    Envelope,
    encode_object_created,
    encode_owner_purge,
    owner_purge_of,
    parse_events,
    parse_work,
)
from filegate.domain.models import Message, ObjectCreated
from filegate.domain.sessions import OwnerPurge
from filegate.domain.states import FileState
from filegate.worker.batch import BatchProcessor, Dead, Succeeded
from filegate.worker.purge_task import OwnerPurgeTask
from filegate.worker.retry import RetryPolicy
from tests.support.guests import Guests

RETRY = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=10))


class Uploads:
    """An upload-event handler that records the keys it saw."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def handle(self, event: ObjectCreated) -> None:
        self.keys.append(event.key)


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


async def test_the_processor_routes_purges_and_keeps_failures_per_message() -> None:
    g = Guests()
    session = await g.sessions.open("a")
    record = await g.stored_file(session.owner)
    await g.sessions.logout(session.id)
    uploads = Uploads()
    processor = BatchProcessor(uploads, RETRY, tasks={OWNER_PURGE: OwnerPurgeTask(g.purger)})
    messages = [
        Message("m1", "r1", encode_owner_purge(OwnerPurge(session.owner.key)), 1),
        Message("m2", "r2", encode_object_created(ObjectCreated("k", 1, "e")), 1),
        Message("m3", "r3", encode_owner_purge(OwnerPurge("user:alice")), 1),
    ]

    result = await processor.process(messages)

    assert [type(o) for o in result.outcomes] == [Succeeded, Succeeded, Dead]
    assert result.failure_ids() == ["m3"]
    assert uploads.keys == ["k"]
    deleted = await g.files.get(record.id)
    assert deleted is not None and deleted.state is FileState.DELETED
