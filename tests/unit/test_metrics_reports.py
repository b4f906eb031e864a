"""What the services and the worker report to the ``Metrics`` port (on ``RecordingMetrics``)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from filegate.adapters.memory import (
    MemoryObjectStore,
    MemoryQueue,
    MemoryRepository,
    MemorySigner,
    RecordedBatch,
    RecordingMetrics,
    ScriptedInspector,
)
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable, FilegateError, PoisonMessage
from filegate.domain.messages import encode_object_created
from filegate.domain.metrics import NO_METRICS, Metrics, NoMetrics
from filegate.domain.models import (
    Actor,
    FileRecord,
    Inspection,
    ObjectCreated,
    ObjectInfo,
    RejectionReason,
    StateChange,
)
from filegate.domain.states import FileState
from filegate.services.registration import Registrar, RegistrationPolicy, RegistrationRequest
from filegate.services.uploads import UploadRecorder
from filegate.services.verification import Verifier
from filegate.worker.batch import BatchProcessor
from filegate.worker.retry import RetryPolicy
from filegate.worker.settlement import settle
from tests.support.records import make_record

OWNER = "user:alice"
DATA = b"\xff\xd8\xff pretend this is a jpeg"
POLICY = RegistrationPolicy(
    max_size=1000,
    allowed_types=frozenset({"image/jpeg"}),
    upload_window=timedelta(hours=1),
    upload_url_ttl=timedelta(minutes=15),
)
RETRY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100))


def test_the_fakes_implement_the_port() -> None:
    ports: list[Metrics] = [RecordingMetrics(), NoMetrics(), NO_METRICS]
    assert len(ports) == 3  # the assignment above is what mypy checks


# --- registration -----------------------------------------------------------------------


def _registrar(clock: ManualClock, metrics: RecordingMetrics) -> Registrar:
    repository = MemoryRepository(clock)
    return Registrar(repository, MemorySigner(clock), clock, POLICY, metrics=metrics)


def _request(size: int = 10) -> RegistrationRequest:
    return RegistrationRequest(filename="a.jpg", content_type="image/jpeg", size=size)


async def test_each_new_registration_is_counted_once() -> None:
    metrics = RecordingMetrics()
    registrar = _registrar(ManualClock(), metrics)

    await registrar.register(OWNER, _request(), idempotency_key="k1")
    await registrar.register(OWNER, _request(), idempotency_key="k1")  # a replay
    await registrar.register_many(OWNER, [_request(), _request(size=0), _request()])

    assert metrics.registrations == 3


# --- uploads ----------------------------------------------------------------------------


async def test_a_committed_upload_reports_its_bytes_and_a_refused_one_nothing() -> None:
    clock = ManualClock()
    metrics = RecordingMetrics()
    repository = MemoryRepository(clock)
    ledger = SeparateUploadLedger(repository, MemoryQueue(clock=clock))
    recorder = UploadRecorder(
        repository,
        MemoryObjectStore(),
        ledger,
        clock,
        grace=timedelta(minutes=5),
        metrics=metrics,
    )
    record = await repository.add(make_record(OWNER, clock=clock))
    info = ObjectInfo(record.object_key, 1234, "etag")

    await recorder.commit(record.object_key, info)
    with pytest.raises(FilegateError):
        await recorder.commit(record.object_key, info)  # no longer waiting for bytes

    assert metrics.uploads == [1234]


# --- verification -----------------------------------------------------------------------


class Verification:
    """A verifier over fakes, with a file uploaded ``wait`` after its registration."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock()
        self.metrics = RecordingMetrics()
        self.repository = MemoryRepository(self.clock)
        self.store = MemoryObjectStore()
        self.inspector = ScriptedInspector()
        self.verifier = Verifier(
            self.repository, self.store, self.inspector, scratch_dir=tmp_path, metrics=self.metrics
        )

    async def uploaded_file(self, wait: timedelta) -> FileRecord:
        sha = hashlib.sha256(DATA).hexdigest()
        record = make_record(OWNER, clock=self.clock, declared_size=len(DATA), declared_sha256=sha)
        await self.repository.add(record)
        self.clock.advance(wait)
        moved = await self.repository.transition(
            record.id, FileState.REGISTERED, StateChange(FileState.UPLOADED, Actor.STORE)
        )
        assert moved is not None
        self.store.put_bytes(record.object_key, DATA)
        return moved

    async def handle(self, record: FileRecord) -> None:
        await self.verifier.handle(ObjectCreated(record.object_key, len(DATA), "etag"))


@pytest.fixture
def v(tmp_path: Path) -> Verification:
    return Verification(tmp_path)


async def test_a_ready_verdict_reports_its_outcome_and_the_time_since_registration(
    v: Verification,
) -> None:
    record = await v.uploaded_file(wait=timedelta(seconds=42))

    await v.handle(record)

    [verification] = v.metrics.verifications
    assert (verification.outcome, verification.reason) == ("ready", None)
    assert verification.seconds >= 0
    assert v.metrics.times_to_ready == [42.0]


async def test_a_rejection_reports_its_reason_and_no_time_to_ready(v: Verification) -> None:
    v.inspector.default = Inspection(RejectionReason.CORRUPT_IMAGE)
    record = await v.uploaded_file(wait=timedelta(seconds=1))

    await v.handle(record)

    assert [(x.outcome, x.reason) for x in v.metrics.verifications] == [
        ("rejected", "CORRUPT_IMAGE")
    ]
    assert v.metrics.times_to_ready == []


async def test_a_replayed_event_reports_nothing_more(v: Verification) -> None:
    record = await v.uploaded_file(wait=timedelta(seconds=1))

    await v.handle(record)
    await v.handle(record)

    assert len(v.metrics.verifications) == len(v.metrics.times_to_ready) == 1


# --- batches and settling ---------------------------------------------------------------


class ScriptedHandler:
    """Succeeds, except for the keys scripted to raise."""

    def __init__(self, script: dict[str, type[Exception]]) -> None:
        self.script = script

    async def handle(self, event: ObjectCreated) -> None:
        if (failure := self.script.get(event.key)) is not None:
            raise failure(event.key)


async def _processed_batch(queue: MemoryQueue, metrics: RecordingMetrics) -> None:
    keys = ["ok-1", "ok-2", "flaky", "poison"]
    await queue.send_batch([encode_object_created(ObjectCreated(k, 1, "e")) for k in keys])
    handler = ScriptedHandler({"flaky": BackendUnavailable, "poison": PoisonMessage})
    processor = BatchProcessor(handler, RETRY, random=lambda: 0.5, metrics=metrics)
    messages = await queue.receive(10, timedelta(minutes=1), timedelta(0))
    await settle(queue, await processor.process(messages), metrics)


async def test_a_batch_reports_its_size_and_outcomes_and_settling_what_the_queue_took() -> None:
    metrics = RecordingMetrics()

    await _processed_batch(MemoryQueue(clock=ManualClock()), metrics)

    assert metrics.batches == [RecordedBatch(size=4, succeeded=2, retried=1, dead=1)]
    assert (metrics.retried_messages, metrics.dead_lettered_messages) == (1, 1)


class DownQueue(MemoryQueue):
    """Fault injection: visibility changes and dead-letter moves fail."""

    async def change_visibility_batch(self, changes: object) -> None:
        raise BackendUnavailable("queue unreachable")

    async def dead_letter(self, message: object, reason: str) -> None:
        raise BackendUnavailable("queue unreachable")


async def test_settle_does_not_count_what_the_queue_refused() -> None:
    metrics = RecordingMetrics()

    await _processed_batch(DownQueue(clock=ManualClock()), metrics)

    assert len(metrics.batches) == 1
    assert (metrics.retried_messages, metrics.dead_lettered_messages) == (0, 0)
