"""The composition root: builds every adapter and service from ``Settings``, once.

Backends are chosen by URL scheme, and nothing else changes between shapes:

* database: ``sqlite:///…`` or ``postgresql://…``
* store: ``file://…`` (the local store, served by the API) or ``s3://bucket/prefix?…``
* queue: ``sql://NAME`` (a table in the database) or ``sqs://NAME?…``
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.local.store import LocalObjectStore
from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.prometheus import PrometheusMetrics
from filegate.adapters.s3.store import S3ObjectStore, S3StoreConfig, open_s3_store
from filegate.adapters.s3.url import parse_s3_url
from filegate.adapters.sql.engine import create_engine, is_sqlite
from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.adapters.sql.migrate import migrate
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.sql.repository import SqlRepository
from filegate.adapters.sql.upload_ledger import SeparateUploadLedger, SqlUploadLedger
from filegate.adapters.sqs.queue import open_sqs_queue
from filegate.adapters.sqs.url import parse_sqs_url
from filegate.adapters.tokens import TokenAuthority
from filegate.bootstrap.guests import GuestDeps, Guests, build_guests
from filegate.bootstrap.upkeep import Upkeep, UpkeepDeps, build_upkeep, quota_limits
from filegate.config import InsecureSecret, Settings, resolve_secret
from filegate.domain.clock import SystemClock
from filegate.domain.messages import encode_object_created
from filegate.domain.ports import (
    Clock,
    DownloadSigner,
    EventKeys,
    FileRepository,
    MultipartUploads,
    ObjectLister,
    ObjectStore,
    Queue,
    UploadLedger,
    UploadSigner,
)
from filegate.http.app import create_app
from filegate.http.context import ApiContext
from filegate.http.routes.store import store_router
from filegate.imaging.inspect import ImageLimits
from filegate.imaging.pool import ProcessPoolInspector
from filegate.services.expiry import ExpirySweeper
from filegate.services.files import FileService
from filegate.services.multipart import MultipartService
from filegate.services.registration import Registrar, RegistrationPolicy
from filegate.services.uploads import UploadRecorder
from filegate.services.verification import Verifier
from filegate.worker.batch import BatchProcessor
from filegate.worker.consumer import Consumer, ConsumerConfig
from filegate.worker.retry import RetryPolicy
from filegate.worker.tasks import task_table


class ConfigurationError(Exception):
    """The settings name a backend or combination filegate cannot build."""


@dataclass(frozen=True)
class Store:
    """The object store and what it can do, whichever adapter it is."""

    objects: ObjectStore
    uploads: UploadSigner
    downloads: DownloadSigner
    local: LocalObjectStore | None = None
    event_keys: EventKeys | None = None
    multipart: MultipartUploads | None = None
    lister: ObjectLister | None = None


@dataclass(frozen=True)
class Runtime:
    """Everything one process needs, built from one ``Settings``."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    repository: FileRepository
    queue: Queue
    store: Store
    tokens: TokenAuthority
    registrar: Registrar
    files: FileService
    uploads: UploadRecorder
    verifier: Verifier
    sweeper: ExpirySweeper
    guests: Guests
    upkeep: Upkeep
    multipart: MultipartService | None = None
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)
    """What this process counts; served at ``GET /metrics``."""

    def api_context(self) -> ApiContext:
        return ApiContext(
            tokens=self.tokens,
            registrar=self.registrar,
            files=self.files,
            uploads=self.uploads,
            repository=self.repository,
            store=self.store.objects,
            queue=self.queue,
            max_batch=self.settings.max_batch_registrations,
            authenticator=self.guests.authenticator,
            intake=self.guests.intake,
            sessions=self.guests.sessions,
            grants=self.guests.grants,
            public_url=self.settings.public_url,
            cors_origins=self.settings.cors_origins,
            web_connect_src=self.settings.web_connect_src,
            max_request_bytes=self.settings.max_request_bytes,
            multipart=self.multipart,
            metrics=self.metrics,
            retention=self.upkeep.retention,
            history=self.upkeep.history,
            quotas=self.upkeep.quotas,
        )

    def app(self) -> FastAPI:
        """The HTTP app, with the local store's routes when the store is local."""
        local = self.store.local
        routers: tuple[APIRouter, ...] = (store_router(local, self.uploads),) if local else ()
        return create_app(self.api_context(), routers)

    def processor(self) -> BatchProcessor:
        """The batch processor shared by the worker loop and the Lambda handler."""
        tasks = task_table(retention=self.upkeep.enforcer, purger=self.guests.purger)
        return BatchProcessor(
            self.verifier, retry_policy(self.settings), tasks=tasks, metrics=self.metrics
        )

    def consumer(self) -> Consumer:
        """The upload-event consumer loop, configured from the settings."""
        s = self.settings
        config = ConsumerConfig(
            batch_size=s.batch_size,
            batch_window=timedelta(seconds=s.batch_window_seconds),
            visibility_timeout=s.visibility_timeout,
            concurrency=s.worker_concurrency,
            shutdown_grace=timedelta(seconds=s.shutdown_grace_seconds),
        )
        return Consumer(self.queue, self.processor(), config, self.metrics)


def retry_policy(settings: Settings) -> RetryPolicy:
    """Backoff of retried messages, from the settings."""
    return RetryPolicy(
        base=timedelta(seconds=settings.retry_base_seconds),
        cap=timedelta(seconds=settings.retry_max_seconds),
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings, clock: Clock | None = None, *, needs_secret: bool = True
) -> AsyncIterator[Runtime]:
    """Build the runtime; close clients, pools, engines and decode processes on exit.

    The embedded SQLite database is migrated automatically; others need ``filegate migrate``.
    A worker-only process (``needs_secret=False``) signs and verifies nothing, so it runs
    without the secret when none is configured.
    """
    clock = clock or SystemClock()
    secret = _secret(settings, needs_secret)
    if is_sqlite(settings.database_url):
        migrate(settings.database_url)
    async with AsyncExitStack() as stack:
        engine = create_engine(
            settings.database_url, settings.db_pool_size, settings.db_max_overflow
        )
        stack.push_async_callback(engine.dispose)
        store = await _open_store(settings, clock, secret, stack)
        repository = SqlRepository(engine, clock)
        queue, ledger = await _open_queue(settings, engine, clock, repository, stack)
        inspector = ProcessPoolInspector(
            _image_limits(settings),
            workers=settings.decode_workers,
            timeout_seconds=settings.decode_timeout_seconds,
            memory_limit_mb=settings.decode_memory_mb,
        )
        stack.push_async_callback(inspector.close)
        yield _assemble(
            settings, clock, secret, engine, store, repository, queue, ledger, inspector
        )


def open_worker_runtime(settings: Settings) -> AbstractAsyncContextManager[Runtime]:
    """The runtime of a process that only consumes events (worker, AWS Lambda)."""
    return open_runtime(settings, needs_secret=False)


def _secret(settings: Settings, needs_secret: bool) -> str:
    try:
        return resolve_secret(settings)
    except InsecureSecret:
        if needs_secret:
            raise
        return secrets.token_urlsafe(32)  # never used to sign anything another process checks


async def _open_store(
    settings: Settings, clock: Clock, secret: str, stack: AsyncExitStack
) -> Store:
    scheme = urlsplit(settings.store_url).scheme
    if scheme == "file":
        local = LocalObjectStore(
            _local_root(settings.store_url),
            settings.public_url,
            url_signer(settings, secret),
            clock,
        )
        return Store(local, local, local, local, lister=local)
    if scheme == "s3":
        config = S3StoreConfig(multipart_threshold=settings.multipart_threshold)
        s3: S3ObjectStore = await stack.enter_async_context(
            open_s3_store(parse_s3_url(settings.store_url), clock, config)
        )
        return Store(s3, s3, s3, event_keys=s3, multipart=s3, lister=s3)
    raise ConfigurationError(f"unsupported store URL scheme: {scheme!r}")


async def _open_queue(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    repository: FileRepository,
    stack: AsyncExitStack,
) -> tuple[Queue, UploadLedger]:
    parts = urlsplit(settings.queue_url)
    if parts.scheme == "sql":
        name = (parts.netloc + parts.path).strip("/") or "events"
        queue = SqlQueue(engine, clock, name=name, max_receives=settings.max_receives)
        return queue, SqlUploadLedger(engine, clock, name)
    if parts.scheme == "sqs":
        sqs = await stack.enter_async_context(open_sqs_queue(parse_sqs_url(settings.queue_url)))
        return sqs, SeparateUploadLedger(repository, sqs)
    raise ConfigurationError(f"unsupported queue URL scheme: {parts.scheme!r}")


def _assemble(
    settings: Settings,
    clock: Clock,
    secret: str,
    engine: AsyncEngine,
    store: Store,
    repository: FileRepository,
    queue: Queue,
    ledger: UploadLedger,
    inspector: ProcessPoolInspector,
) -> Runtime:
    metrics = PrometheusMetrics()
    uploads = UploadRecorder(
        repository,
        store.objects,
        ledger,
        encode_object_created,
        clock,
        settings.expiry_grace,
        metrics=metrics,
    )
    files = FileService(
        repository, store.objects, store.downloads, clock, settings.download_url_ttl
    )
    queries = SqlLifecycleRepository(engine)
    registrar = Registrar(
        repository,
        store.uploads,
        clock,
        _registration_policy(settings, store),
        quotas=quota_limits(settings),
        duplicates=queries if settings.dedupe else None,
        metrics=metrics,
    )
    return Runtime(
        settings=settings,
        clock=clock,
        engine=engine,
        repository=repository,
        queue=queue,
        store=store,
        tokens=TokenAuthority(secret, clock, settings.jwt_algorithm, settings.jwt_public_key),
        registrar=registrar,
        files=files,
        uploads=uploads,
        verifier=Verifier(
            repository,
            store.objects,
            inspector,
            local_paths=store.local,
            event_keys=store.event_keys,
            metrics=metrics,
        ),
        sweeper=ExpirySweeper(repository, store.objects, uploads, clock, settings.expiry_grace),
        guests=build_guests(
            settings,
            GuestDeps(engine, clock, secret, repository, store.objects, queue, registrar, uploads),
        ),
        multipart=_multipart(settings, clock, store, repository, uploads),
        metrics=metrics,
        upkeep=build_upkeep(
            settings,
            UpkeepDeps(
                queries,
                clock,
                repository,
                store.objects,
                queue,
                uploads,
                store.lister,
                store.multipart,
                metrics,
            ),
        ),
    )


def url_signer(settings: Settings, secret: str) -> UrlSigner:
    """The URL signer: the current key derived from the secret, plus configured old keys."""
    keys = {kid: key.get_secret_value().encode() for kid, key in settings.url_signing_keys.items()}
    current = settings.url_signing_key_id
    keys.setdefault(current, _derived_key(secret, current))
    return UrlSigner(keys, current)


def _derived_key(secret: str, key_id: str) -> bytes:
    message = f"filegate/url-signing/{key_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _registration_policy(settings: Settings, store: Store) -> RegistrationPolicy:
    return RegistrationPolicy(
        max_size=settings.max_file_size,
        allowed_types=frozenset(settings.allowed_types),
        upload_window=settings.upload_window,
        upload_url_ttl=settings.upload_url_ttl,
        multipart_threshold=settings.multipart_threshold if store.multipart else None,
    )


def _multipart(
    settings: Settings,
    clock: Clock,
    store: Store,
    repository: FileRepository,
    uploads: UploadRecorder,
) -> MultipartService | None:
    if store.multipart is None:
        return None
    return MultipartService(
        repository,
        store.multipart,
        uploads,
        clock,
        settings.upload_url_ttl,
        settings.multipart_threshold,
    )


def _image_limits(settings: Settings) -> ImageLimits:
    return ImageLimits(
        allowed_types=tuple(settings.allowed_types),
        max_pixels=settings.max_pixels,
        max_frames=settings.max_frames,
    )


def _local_root(store_url: str) -> Path:
    parts = urlsplit(store_url)
    return Path(parts.netloc + parts.path)
