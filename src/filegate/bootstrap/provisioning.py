"""``filegate setup`` and ``filegate doctor``: provision and check a deployment's backends.

Setup is idempotent: run it again and it converges on the same database schema, bucket,
CORS rule, queues, queue policy and bucket notification. Doctor changes nothing; it reports
one finding per fact, precise enough to act on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from filegate.adapters.findings import Finding
from filegate.adapters.s3 import provisioning as s3_provisioning
from filegate.adapters.s3.url import S3Location, parse_s3_url
from filegate.adapters.sql.engine import sync_url
from filegate.adapters.sql.migrate import alembic_config, migrate
from filegate.adapters.sqs import provisioning as sqs_provisioning
from filegate.adapters.sqs.client import queue_url_of, sqs_client
from filegate.adapters.sqs.url import SqsLocation, parse_sqs_url
from filegate.config import Settings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient


@dataclass(frozen=True)
class Step:
    """One thing setup made sure of, and whether it had to change anything (``None``: the
    backend does not say, e.g. SQS attributes are simply set again)."""

    what: str
    changed: bool | None


@dataclass(frozen=True)
class Targets:
    """The backends named by the settings, parsed."""

    bucket: S3Location | None
    queue: SqsLocation | None

    @classmethod
    def of(cls, settings: Settings) -> Targets:
        store_scheme = urlsplit(settings.store_url).scheme
        queue_scheme = urlsplit(settings.queue_url).scheme
        return cls(
            bucket=parse_s3_url(settings.store_url) if store_scheme == "s3" else None,
            queue=parse_sqs_url(settings.queue_url) if queue_scheme == "sqs" else None,
        )


async def setup(settings: Settings) -> list[Step]:
    """Create or update everything the settings' backends need; what was done, in order."""
    migrate(settings.database_url)
    steps = [Step("database schema is at the latest migration", changed=False)]
    targets = Targets.of(settings)
    async with _clients(targets) as (s3, sqs):
        if s3 is not None and targets.bucket is not None:
            steps += await _setup_bucket(s3, targets.bucket, settings)
        if sqs is not None and targets.queue is not None:
            steps += await _setup_queues(sqs, targets.queue, settings)
        if s3 is not None and sqs is not None and targets.bucket and targets.queue:
            steps += await _setup_notification(s3, sqs, targets.bucket, targets.queue)
    return steps


async def doctor(settings: Settings) -> list[Finding]:
    """Check the database, store and queue the settings name; change nothing."""
    findings = [_check_database(settings.database_url)]
    targets = Targets.of(settings)
    async with _clients(targets) as (s3, sqs):
        if s3 is not None and targets.bucket is not None:
            findings += await _guarded("bucket", lambda: _check_bucket(s3, targets, settings))
        if sqs is not None and targets.queue is not None:
            findings += await _guarded("queue", lambda: _check_queues(sqs, targets, settings))
        if s3 is not None and sqs is not None:
            findings += await _guarded("notification", lambda: _check_events(s3, sqs, targets))
    return findings


async def _setup_bucket(s3: S3Client, bucket: S3Location, settings: Settings) -> list[Step]:
    created = await s3_provisioning.ensure_bucket(s3, bucket.bucket, bucket.region)
    steps = [Step(f"bucket {bucket.bucket} exists", created)]
    if settings.cors_origins:
        changed = await s3_provisioning.ensure_cors(s3, bucket.bucket, settings.cors_origins)
        origins = ", ".join(settings.cors_origins)
        steps.append(Step(f"bucket CORS allows uploads from {origins}", changed))
    return steps


async def _setup_queues(sqs: SQSClient, queue: SqsLocation, settings: Settings) -> list[Step]:
    await sqs_provisioning.ensure_queues(
        sqs,
        queue.queue_name,
        settings.visibility_timeout,
        settings.max_receives,
        dead_letter_name=queue.dead_letter_queue_name,
    )
    what = f"queue {queue.queue_name} and its dead-letter queue exist, with a redrive policy"
    return [Step(what, changed=None)]


async def _setup_notification(
    s3: S3Client, sqs: SQSClient, bucket: S3Location, queue: SqsLocation
) -> list[Step]:
    queue_url = await queue_url_of(sqs, queue.queue_name)
    queue_arn = await _queue_arn(sqs, queue_url)
    await sqs_provisioning.ensure_queue_policy(sqs, queue_url, queue_arn, _bucket_arn(bucket))
    changed = await s3_provisioning.ensure_notification(s3, bucket.bucket, queue_arn, bucket.prefix)
    return [
        Step(f"queue {queue.queue_name} accepts events from bucket {bucket.bucket}", None),
        Step(f"bucket {bucket.bucket} sends ObjectCreated events to {queue.queue_name}", changed),
    ]


async def _check_bucket(s3: S3Client, targets: Targets, settings: Settings) -> list[Finding]:
    bucket = targets.bucket
    assert bucket is not None
    findings = await s3_provisioning.check_bucket(s3, bucket.bucket)
    if not all(f.ok for f in findings):
        return findings
    if settings.cors_origins:
        findings += await s3_provisioning.check_cors(s3, bucket.bucket, settings.cors_origins)
    return findings


async def _check_queues(sqs: SQSClient, targets: Targets, settings: Settings) -> list[Finding]:
    queue = targets.queue
    assert queue is not None
    findings = await sqs_provisioning.check_queues(
        sqs,
        queue.queue_name,
        settings.visibility_timeout,
        settings.max_receives,
        queue.dead_letter_queue_name,
    )
    if targets.bucket is None or not findings[0].ok:
        return findings
    queue_url = await queue_url_of(sqs, queue.queue_name)
    queue_arn = await _queue_arn(sqs, queue_url)
    bucket_arn = _bucket_arn(targets.bucket)
    findings += await sqs_provisioning.check_queue_policy(sqs, queue_url, queue_arn, bucket_arn)
    return findings


async def _check_events(s3: S3Client, sqs: SQSClient, targets: Targets) -> list[Finding]:
    bucket, queue = targets.bucket, targets.queue
    assert bucket is not None and queue is not None
    queue_arn = await _queue_arn(sqs, await queue_url_of(sqs, queue.queue_name))
    return await s3_provisioning.check_notification(s3, bucket.bucket, queue_arn, bucket.prefix)


async def _guarded(what: str, check: Callable[[], Awaitable[list[Finding]]]) -> list[Finding]:
    """Run a group of checks; a backend that cannot be reached is a finding too."""
    try:
        return await check()
    except Exception as exc:  # doctor reports every failure instead of stopping at one
        return [Finding(False, what, f"cannot be checked: {type(exc).__name__}: {exc}")]


def _check_database(database_url: str) -> Finding:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:  # an unreachable database is a finding, not a crash
        return Finding(False, "database", f"cannot connect: {type(exc).__name__}")
    finally:
        engine.dispose()
    if current != head:
        detail = f"schema is at {current or 'nothing'}, latest is {head} (run `filegate migrate`)"
        return Finding(False, "database", detail)
    return Finding(True, "database", f"reachable; schema at the latest migration ({head})")


@asynccontextmanager
async def _clients(
    targets: Targets,
) -> AsyncIterator[tuple[S3Client | None, SQSClient | None]]:
    async with _s3_client(targets.bucket) as s3, _sqs_client(targets.queue) as sqs:
        yield s3, sqs


@asynccontextmanager
async def _s3_client(location: S3Location | None) -> AsyncIterator[S3Client | None]:
    if location is None:
        yield None
        return
    style = "path" if location.path_style else "virtual"
    config = AioConfig(signature_version="s3v4", s3={"addressing_style": style})
    async with get_session().create_client(
        "s3", endpoint_url=location.endpoint_url, region_name=location.region, config=config
    ) as client:
        yield client


@asynccontextmanager
async def _sqs_client(location: SqsLocation | None) -> AsyncIterator[SQSClient | None]:
    if location is None:
        yield None
        return
    async with sqs_client(location) as client:
        yield client


async def _queue_arn(sqs: SQSClient, queue_url: str) -> str:
    response = await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return response["Attributes"]["QueueArn"]


def _bucket_arn(bucket: S3Location) -> str:
    return f"arn:aws:s3:::{bucket.bucket}"
