"""``batch_cost``: what the Lambda verifier costs per upload at batch 10 against batch 1.

filegate: the Lambda handler's own path (:func:`filegate.worker.aws_lambda.handle_event`
over the batch processor of :func:`filegate.bootstrap.runtime.open_worker_runtime`, the
worker ``filegate.aws_lambda.handler`` builds) on one SQS event of 10 uploaded photos.
Baseline: the same on an event of one photo. The backends are the embedded ones (SQLite,
local store), and the decode pool has one process, as a 1-vCPU Lambda of 1,769 MB has one
core. Each repetition prepares fresh uploaded files (untimed), then times one invocation;
the two sizes alternate.

From the durations, the cost of a million uploads on Lambda x86 at AWS's published prices
(:data:`REQUEST_USD`, :data:`GB_SECOND_USD`): one request per event, and the event's
duration, rounded up to the millisecond, times the function's memory.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.e2e_files import Photo, photos
from bench.harness import Medians, Result
from filegate.adapters.local.store import LocalObjectStore
from filegate.bootstrap.runtime import Runtime, open_worker_runtime
from filegate.config import Settings
from filegate.domain.messages import encode_object_created
from filegate.domain.models import (
    Actor,
    FileRecord,
    Message,
    ObjectCreated,
    StateChange,
    UploadSpec,
    VisibilityChange,
)
from filegate.domain.states import FileState
from filegate.worker.aws_lambda import LambdaWorker, handle_event

BATCH = 10
MEMORY_MB = 1769
"""The memory at which Lambda gives a function one whole vCPU."""
REQUEST_USD = 0.20 / 1_000_000
"""AWS Lambda x86, per request (aws.amazon.com/lambda/pricing, us-east-1)."""
GB_SECOND_USD = 0.0000166667
"""AWS Lambda x86, per GB-second of duration (the same page; the first 6 billion a month)."""
UPLOADS = 1_000_000
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Scale:
    width: int
    height: int
    repetitions: int


FULL = Scale(width=2000, height=1500, repetitions=15)
QUICK = Scale(width=640, height=480, repetitions=2)


def run(quick: bool) -> list[Result]:
    scale = QUICK if quick else FULL
    # One warm-up pair, then the measured pairs; every invocation gets photos of its own.
    corpus = photos((scale.repetitions + 1) * (BATCH + 1), scale.width, scale.height)
    with tempfile.TemporaryDirectory(prefix="bench-batch-cost-") as tmp:
        batched, single = asyncio.run(measure(Path(tmp), corpus, scale.repetitions))
    return rows(batched, single, f"{scale.width}x{scale.height}")


def lambda_usd(milliseconds: float, files: int) -> float:
    """The cost of :data:`UPLOADS` uploads verified ``files`` to an event whose invocation
    took ``milliseconds``: requests plus billed duration at :data:`MEMORY_MB`."""
    invocations = UPLOADS / files
    gb_seconds = math.ceil(milliseconds) / 1000 * MEMORY_MB / 1024
    return invocations * (REQUEST_USD + gb_seconds * GB_SECOND_USD)


def rows(batched: Sequence[float], single: Sequence[float], size: str) -> list[Result]:
    """The report from paired invocation durations (ms) at :data:`BATCH` files and at 1."""
    how = (
        f"the same handler on an event of 1 photo; {len(batched)} interleaved pairs, "
        f"JPEGs {size}, SQLite + local store, 1 decode process"
    )
    per_file = Medians.of_pairs([ms / BATCH for ms in batched], list(single))
    cost = Medians.of_pairs(
        [lambda_usd(ms, BATCH) for ms in batched], [lambda_usd(ms, 1) for ms in single]
    )
    prices = (
        f"Lambda x86 at {MEMORY_MB:,} MB: $0.20 per million requests + "
        f"${GB_SECOND_USD:.10f} per GB-second, duration rounded up to 1 ms"
    )
    return [
        Result.of(
            f"batch_cost Lambda, event of {BATCH} vs 1",
            "ms/invocation",
            Medians.of_pairs(list(batched), list(single)),
            how,
        ),
        Result.of(f"batch_cost Lambda, {BATCH} vs 1 per file", "ms/file", per_file, how),
        Result.of(
            f"batch_cost Lambda, {BATCH} vs 1 per million uploads",
            "USD",
            cost,
            f"{prices}; from each pair's durations",
        ),
    ]


async def measure(
    tmp: Path, corpus: Sequence[Photo], repetitions: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per invocation at :data:`BATCH` files and at 1, ``repetitions`` pairs
    after one unmeasured pair; ``corpus`` needs ``(repetitions + 1) * (BATCH + 1)`` photos.

    Raises ``RuntimeError`` when an invocation reports a failure or leaves a file not READY.
    """
    settings = Settings(data_dir=tmp, decode_workers=1)
    async with open_worker_runtime(settings) as runtime:
        worker = LambdaWorker(runtime.processor(), _NoDeadLetters())
        files = iter(corpus)
        batched: list[float] = []
        single: list[float] = []
        for repetition in range(repetitions + 1):
            ten = await _invocation(runtime, worker, [next(files) for _ in range(BATCH)])
            one = await _invocation(runtime, worker, [next(files)])
            if repetition:  # the first pair warms the pool, the database and the caches
                batched.append(ten)
                single.append(one)
        return batched, single


async def _invocation(runtime: Runtime, worker: LambdaWorker, batch: Sequence[Photo]) -> float:
    """Milliseconds the handler took on one event of ``batch``, each file made READY."""
    uploads = [await _uploaded(runtime, photo) for photo in batch]
    event = {"Records": [_record(upload) for _, upload in uploads]}
    started = time.perf_counter()
    response = await handle_event(event, worker)
    elapsed = time.perf_counter() - started
    if response["batchItemFailures"]:
        raise RuntimeError(f"the handler reported failures: {response}")
    for record, _ in uploads:
        now = await runtime.repository.get(record.id)
        if now is None or now.state is not FileState.READY:
            raise RuntimeError(f"{record.id} is not READY after the invocation: {now}")
    return 1000 * elapsed


async def _uploaded(runtime: Runtime, photo: Photo) -> tuple[FileRecord, ObjectCreated]:
    """A registered file whose bytes are in the store, moved to UPLOADED as the upload's
    commit moves it, and its upload event (not enqueued: Lambda's event source delivers
    it)."""
    store = runtime.store.served
    if not isinstance(store, LocalObjectStore):
        raise TypeError("batch_cost prepares its uploads in the local store")
    file_id = uuid.uuid4().hex
    key = f"bench/{file_id}"
    now = datetime.now(UTC)
    record = FileRecord(
        id=file_id,
        owner="user:bench",
        object_key=key,
        filename=photo.path.name,
        declared_size=photo.size,
        declared_type="image/jpeg",
        declared_sha256=photo.sha256,
        state=FileState.REGISTERED,
        created_at=now,
        updated_at=now,
        upload_expires_at=now + timedelta(hours=1),
    )
    await runtime.repository.add(record)
    data = photo.path.read_bytes()
    spec = UploadSpec(len(data), "image/jpeg", photo.sha256)
    written = await store.write_upload(key, _chunks(data), spec)
    change = StateChange(FileState.UPLOADED, Actor.STORE)
    moved = await runtime.repository.transition(file_id, FileState.REGISTERED, change)
    if moved is None:
        raise RuntimeError(f"{file_id} could not be marked uploaded")
    return moved, ObjectCreated(key, written.info.size, written.info.etag)


def _record(event: ObjectCreated) -> dict[str, Any]:
    """The SQS event record Lambda would deliver for an upload event."""
    message_id = str(uuid.uuid4())
    return {
        "messageId": message_id,
        "receiptHandle": f"receipt-{message_id}",
        "body": encode_object_created(event),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    }


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), _CHUNK):
        yield data[start : start + _CHUNK]


class _NoDeadLetters:
    """The handler's queue for a run in which every message succeeds: any call is a bug."""

    async def copy_to_dead_letter_queue(self, message: Message, reason: str) -> None:
        raise RuntimeError(f"{message.id} was dead-lettered: {reason}")

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        raise RuntimeError(f"{len(changes)} message(s) were to be retried")
