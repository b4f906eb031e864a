"""Backends chosen by URL scheme, each opened into a typed bundle of what it can do.

* database: ``sqlite:///…`` or ``postgresql://…`` → :class:`Database`
* store: ``file://…`` (served by the API) or ``s3://bucket/prefix?…`` → :class:`Store`
* queue: ``sql://NAME`` (a table in the database) or ``sqs://NAME?…`` → :class:`Queues`

A bundle names each capability once; an optional one is ``None`` where the backend lacks
it, and only what is present gets wired and mounted. Adding a backend means one opener
here and one entry in :data:`STORE_OPENERS` or :data:`QUEUE_OPENERS`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.sql.database import Database as SqlDatabase
from filegate.adapters.sql.database import open_database as open_sql_database
from filegate.adapters.sql.engine import is_sqlite
from filegate.adapters.sql.events import SqlEventLog
from filegate.adapters.sql.grants import SqlGrantRepository
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.migrate import migrate
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sql.rate import SqlRateLimiter
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.adapters.sql.sweep_claims import SqlSweepClaims
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger, SqlUploadLedger
from filegate.bootstrap.notifications import outbox_for
from filegate.bootstrap.policies import url_signer
from filegate.config import ConfigurationError as ConfigurationError
from filegate.config import Settings
from filegate.domain.ports import (
    Clock,
    DeadLetters,
    DownloadSigner,
    EventKeys,
    LocalPaths,
    MultipartUploads,
    ObjectLister,
    ObjectStore,
    Queue,
    ServedStore,
    UploadLedger,
    UploadSigner,
)
from filegate.worker.aws_lambda import DeadLetterRoute

EXTRAS: dict[str, tuple[str, ...]] = {
    "aws": ("aiobotocore", "botocore", "aiohttp"),
    "postgres": ("psycopg",),
    "otel": ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"),
}
"""The optional packages each extra of the ``filegate`` distribution brings (pyproject.toml)."""


def require_extra(extra: str, setting: str, url: str) -> None:
    """Raise :class:`ConfigurationError` naming ``extra`` when one of its packages is missing.

    The adapters needing an extra are imported inside their openers, after this check, so
    the embedded shape never imports them (nor needs them installed).
    """
    require_extra_for(extra, f"{setting}={urlsplit(url).scheme}://...")


def require_extra_for(extra: str, needed_by: str) -> None:
    """As :func:`require_extra`, for any setting: the message says ``needed_by`` needs it."""
    missing = [name for name in EXTRAS[extra] if not _installed(name)]
    if missing:
        raise ConfigurationError(
            f"{needed_by} needs the {extra!r} extra (missing: "
            f"{', '.join(missing)}): pip install 'filegate[{extra}]'"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        return False


@dataclass(frozen=True, kw_only=True)
class Database:
    """The SQL database and the repositories over it."""

    sql: SqlDatabase
    """Runs whole transactions in one hop (:mod:`filegate.adapters.sql.database`)."""
    files: SqlRepository
    events: SqlEventLog
    """The outbox the repositories write events to, as streams and the relay read it."""
    queries: SqlLifecycleRepository
    """Retention, usage, duplicates and the reconciler's queries."""
    sessions: SqlSessionRepository
    grants: SqlGrantRepository
    rates: SqlRateLimiter
    sweep_claims: SqlSweepClaims


@dataclass(frozen=True, kw_only=True)
class Store:
    """The object store and what it can do, whichever adapter it is."""

    objects: ObjectStore
    uploads: UploadSigner
    downloads: DownloadSigner
    served: ServedStore | None = None
    """The local store, whose signed URLs the API itself serves."""
    local_paths: LocalPaths | None = None
    event_keys: EventKeys | None = None
    multipart: MultipartUploads | None = None
    lister: ObjectLister | None = None


@dataclass(frozen=True, kw_only=True)
class Queues:
    """The queue of upload events and work messages, and what it can do."""

    queue: Queue
    ledger: UploadLedger
    """Records an upload and enqueues its event (in one transaction where it can)."""
    dead_letters: DeadLetters | None = None
    """Listing, redriving and purging dead letters (``filegate dlq``)."""
    dead_letter_route: DeadLetterRoute | None = None
    """Copying to the dead-letter queue, as the Lambda handler needs (SQS only)."""


StoreOpener = Callable[[Settings, Clock, str, AsyncExitStack], Awaitable[Store]]
QueueOpener = Callable[[Settings, Database, Clock, AsyncExitStack], Awaitable[Queues]]
_Opener = TypeVar("_Opener", StoreOpener, QueueOpener)


async def open_database(settings: Settings, clock: Clock, stack: AsyncExitStack) -> Database:
    """The database (disposed with ``stack``) and its repositories.

    The embedded SQLite database is migrated here; others need ``filegate migrate``.
    """
    if is_sqlite(settings.database_url):
        migrate(settings.database_url)
    elif urlsplit(settings.database_url).scheme.startswith("postgresql"):
        require_extra("postgres", "FILEGATE_DATABASE_URL", settings.database_url)
    sql = open_sql_database(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
    stack.push_async_callback(sql.dispose)
    outbox = outbox_for(settings, sql)
    events = SqlEventLog(sql, clock)
    stack.push_async_callback(events.close)
    return Database(
        sql=sql,
        files=SqlRepository(sql, clock, outbox),
        events=events,
        queries=SqlLifecycleRepository(sql),
        sessions=SqlSessionRepository(sql, outbox),
        grants=SqlGrantRepository(sql),
        rates=SqlRateLimiter(sql),
        sweep_claims=SqlSweepClaims(sql, clock),
    )


async def open_store(settings: Settings, clock: Clock, secret: str, stack: AsyncExitStack) -> Store:
    """The store ``settings.store_url`` names; clients it opens close with ``stack``."""
    return await _opener(STORE_OPENERS, settings.store_url, "store")(settings, clock, secret, stack)


async def open_queues(
    settings: Settings, database: Database, clock: Clock, stack: AsyncExitStack
) -> Queues:
    """The queue ``settings.queue_url`` names; clients it opens close with ``stack``."""
    opener = _opener(QUEUE_OPENERS, settings.queue_url, "queue")
    return await opener(settings, database, clock, stack)


async def _local_store(
    settings: Settings, clock: Clock, secret: str, stack: AsyncExitStack
) -> Store:
    parts = urlsplit(settings.store_url)
    root = Path(parts.netloc + parts.path)
    local = LocalObjectStore(root, settings.public_url, url_signer(settings, secret), clock)
    return Store(
        objects=local,
        uploads=local,
        downloads=local,
        served=local,
        local_paths=local,
        lister=local,
    )


async def _s3_store(settings: Settings, clock: Clock, secret: str, stack: AsyncExitStack) -> Store:
    require_extra("aws", "FILEGATE_STORE_URL", settings.store_url)
    from filegate.adapters.s3.store import S3ObjectStore, S3StoreConfig, open_s3_store
    from filegate.adapters.s3.url import parse_s3_url

    config = S3StoreConfig(multipart_threshold=settings.multipart_threshold)
    s3: S3ObjectStore = await stack.enter_async_context(
        open_s3_store(parse_s3_url(settings.store_url), clock, config)
    )
    return Store(objects=s3, uploads=s3, downloads=s3, event_keys=s3, multipart=s3, lister=s3)


async def _sql_queue(
    settings: Settings, database: Database, clock: Clock, stack: AsyncExitStack
) -> Queues:
    parts = urlsplit(settings.queue_url)
    name = (parts.netloc + parts.path).strip("/") or "events"
    queue = SqlQueue(database.sql, clock, name=name, max_receives=settings.max_receives)
    stack.push_async_callback(queue.signals.close)
    ledger = SqlUploadLedger(database.sql, clock, name)
    return Queues(queue=queue, ledger=ledger, dead_letters=queue)


async def _sqs_queue(
    settings: Settings, database: Database, clock: Clock, stack: AsyncExitStack
) -> Queues:
    require_extra("aws", "FILEGATE_QUEUE_URL", settings.queue_url)
    from filegate.adapters.sqs.queue import open_sqs_queue
    from filegate.adapters.sqs.url import parse_sqs_url

    sqs = await stack.enter_async_context(open_sqs_queue(parse_sqs_url(settings.queue_url)))
    ledger = SeparateUploadLedger(database.files, sqs)
    return Queues(queue=sqs, ledger=ledger, dead_letters=sqs, dead_letter_route=sqs)


STORE_OPENERS: dict[str, StoreOpener] = {"file": _local_store, "s3": _s3_store}
QUEUE_OPENERS: dict[str, QueueOpener] = {"sql": _sql_queue, "sqs": _sqs_queue}


def _opener(openers: dict[str, _Opener], url: str, what: str) -> _Opener:
    scheme = urlsplit(url).scheme
    if scheme not in openers:
        raise ConfigurationError(f"unsupported {what} URL scheme: {scheme!r}")
    return openers[scheme]
