"""Work messages routed by type: each to its handler, with the batch's partial-failure rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from filegate.domain.errors import BackendUnavailable, PoisonMessage
from filegate.domain.messages import (
    FILES_DELETE,
    MAX_IDS_PER_MESSAGE,
    Envelope,
    encode_files_delete,
    encode_object_created,
    files_delete_ids,
    parse_events,
    parse_work,
)
from filegate.domain.models import FailureReason, Message, ObjectCreated
from filegate.worker.batch import BatchProcessor, Dead, Retry, Succeeded
from filegate.worker.retry import RetryPolicy

RETRY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100))


class Recorder:
    """Records what it handled; raises what it is told to for a given first id."""

    def __init__(self, failures: dict[str, Exception] | None = None) -> None:
        self.failures = failures or {}
        self.seen: list[object] = []

    async def handle(self, item: ObjectCreated | Envelope) -> None:
        self.seen.append(item)
        label = item.key if isinstance(item, ObjectCreated) else files_delete_ids(item)[0]
        if label in self.failures:
            raise self.failures[label]


def message(message_id: str, body: str) -> Message:
    return Message(message_id, f"r-{message_id}", body, 1)


def processor(uploads: Recorder, deletes: Recorder) -> BatchProcessor:
    return BatchProcessor(uploads, RETRY, random=lambda: 0.5, tasks={FILES_DELETE: deletes})


async def test_each_message_goes_to_the_handler_of_its_type() -> None:
    uploads, deletes = Recorder(), Recorder()
    upload = encode_object_created(ObjectCreated("k", 1, "e"))
    result = await processor(uploads, deletes).process(
        [message("a", upload), message("b", encode_files_delete(["f1", "f2"]))]
    )
    assert [type(o) for o in result.outcomes] == [Succeeded, Succeeded]
    assert uploads.seen == [ObjectCreated("k", 1, "e")]
    [envelope] = deletes.seen
    assert isinstance(envelope, Envelope) and files_delete_ids(envelope) == ("f1", "f2")


async def test_identical_work_in_one_batch_is_handled_once() -> None:
    deletes = Recorder()
    body = encode_files_delete(["f1"])
    result = await processor(Recorder(), deletes).process([message("a", body), message("b", body)])
    assert len(deletes.seen) == 1
    assert [type(o) for o in result.outcomes] == [Succeeded, Succeeded]


async def test_a_type_nobody_handles_is_dead_and_fails_alone() -> None:
    unknown = json.dumps({"v": 1, "type": "owner.purge", "owner": "session:x"})
    result = await BatchProcessor(Recorder(), RETRY).process(
        [message("a", unknown), message("b", encode_files_delete(["f1"]))]
    )
    assert [type(o) for o in result.outcomes] == [Dead, Dead]
    assert (result.dead[0].reason, result.dead[0].detail) == (
        FailureReason.MALFORMED,
        "unknown event type",
    )
    assert result.failure_ids() == ["a", "b"]


async def test_task_failures_follow_the_batch_rules() -> None:
    deletes = Recorder({"down": BackendUnavailable("db"), "bad": PoisonMessage("bad ids")})
    result = await processor(Recorder(), deletes).process(
        [
            message("ok", encode_files_delete(["fine"])),
            message("retry", encode_files_delete(["down"])),
            message("dead", encode_files_delete(["bad"])),
        ]
    )
    ok, retry, dead = result.outcomes
    assert isinstance(ok, Succeeded)
    assert isinstance(retry, Retry) and retry.reason is FailureReason.BACKEND_UNAVAILABLE
    assert isinstance(dead, Dead) and (dead.reason, dead.detail) == (
        FailureReason.POISON,
        "bad ids",
    )


def test_files_delete_round_trips() -> None:
    body = encode_files_delete(["a", "b", "a"])
    assert json.loads(body) == {"v": 1, "type": "files.delete", "ids": ["a", "b", "a"]}
    [envelope] = parse_work(body)
    assert isinstance(envelope, Envelope)
    assert files_delete_ids(envelope) == ("a", "b")


def test_upload_event_readers_refuse_a_files_delete() -> None:
    with pytest.raises(PoisonMessage):
        parse_events(encode_files_delete(["a"]))


@pytest.mark.parametrize("count", [0, MAX_IDS_PER_MESSAGE + 1])
def test_encoding_refuses_empty_and_oversized_messages(count: int) -> None:
    with pytest.raises(ValueError):
        encode_files_delete([f"f{i}" for i in range(count)])


@pytest.mark.parametrize(
    "ids",
    [None, "f1", [], [1], [""], ["x" * 65], [f"f{i}" for i in range(MAX_IDS_PER_MESSAGE + 1)]],
    ids=["missing", "string", "empty", "number", "blank", "too-long", "too-many"],
)
def test_malformed_ids_are_poison(ids: object) -> None:
    envelope = Envelope(FILES_DELETE, {"v": 1, "type": FILES_DELETE, "ids": ids})
    with pytest.raises(PoisonMessage):
        files_delete_ids(envelope)
