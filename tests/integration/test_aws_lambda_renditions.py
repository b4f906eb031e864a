"""The Lambda shape stores renditions too: the container worker from the composition root
(SQLite, S3 and SQS on moto, the real decode pool) verifies an uploaded photo through the
same Verifier, so its renditions land next to it in the bucket; the upload event S3 sends
for a rendition is acknowledged without verifying anything.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.migrate import migrate
from filegate.adapters.sql.repository import SqlRepository
from filegate.aws_lambda import open_lambda_worker
from filegate.config import Settings
from filegate.domain.clock import SystemClock
from filegate.domain.models import Actor, FileRecord, RenditionName, StateChange
from filegate.domain.states import FileState
from filegate.worker.aws_lambda import make_handler
from tests.integration.test_aws_lambda import Queues, body_for, failures, queues, sqs_event
from tests.support import images
from tests.support.moto_server import REGION, create_bucket, s3_client
from tests.support.records import make_record

__all__ = ["queues"]  # the fixture, shared with the Lambda handler's tests

PREFIX = "up/"


async def _uploaded(database_url: str, data: bytes) -> FileRecord:
    database = open_database(database_url)
    try:
        repository = SqlRepository(database, SystemClock())
        record = await repository.add(
            make_record(declared_size=len(data), declared_sha256=hashlib.sha256(data).hexdigest())
        )
        change = StateChange(FileState.UPLOADED, Actor.STORE)
        moved = await repository.transition(record.id, FileState.REGISTERED, change)
        assert moved is not None
        return moved
    finally:
        await database.dispose()


async def _current(database_url: str, file_id: str) -> FileRecord:
    database = open_database(database_url)
    try:
        record = await SqlRepository(database, SystemClock()).get(file_id)
        assert record is not None
        return record
    finally:
        await database.dispose()


def test_the_lambda_worker_stores_the_renditions_of_a_verified_photo(
    queues: Queues, moto_endpoint: str, tmp_path: Path
) -> None:
    bucket = create_bucket(moto_endpoint)
    aws = f"endpoint_url={moto_endpoint}&region={REGION}"
    database_url = f"sqlite:///{tmp_path / 'filegate.db'}"
    migrate(database_url)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        store_url=f"s3://{bucket}/{PREFIX}?{aws}&path_style=true",
        queue_url=f"sqs://{queues.location.queue_name}?{aws}",
    )
    data = images.jpeg_bytes(800, 600)
    record = asyncio.run(_uploaded(database_url, data))
    s3 = s3_client(moto_endpoint)
    s3.put_object(Bucket=bucket, Key=PREFIX + record.object_key, Body=data)
    handler = make_handler(lambda: open_lambda_worker(settings))
    try:
        verified = handler(sqs_event(*queues.delivered(body_for(PREFIX + record.object_key))), None)
        thumb_event = body_for(f"{PREFIX}{record.object_key}.thumb")
        echoed = handler(sqs_event(*queues.delivered(thumb_event)), None)
    finally:
        handler.close()

    assert failures(verified) == failures(echoed) == []
    ready = asyncio.run(_current(database_url, record.id))
    assert ready.state is FileState.READY
    assert {r.name for r in ready.renditions} == set(RenditionName)
    for rendition in ready.renditions:
        stored = s3.head_object(Bucket=bucket, Key=f"{PREFIX}{record.object_key}.{rendition.name}")
        assert stored["ContentType"] == rendition.content_type
        assert stored["ContentLength"] == rendition.size
    assert queues.dead() == []
