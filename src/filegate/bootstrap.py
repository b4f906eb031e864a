"""The composition root: builds every adapter and service from ``Settings``, once.

Backends are chosen by URL scheme: ``sqlite://``/``postgresql://`` for metadata,
``file://`` for the local object store, ``sql://`` for the table queue.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.image_pool import ProcessPoolInspector
from filegate.adapters.queue_sql import SqlQueue
from filegate.adapters.repository_sql import SqlRepository
from filegate.adapters.sql_engine import create_engine, is_sqlite
from filegate.adapters.sql_migrate import migrate
from filegate.adapters.store_local import LocalObjectStore
from filegate.adapters.tokens import TokenAuthority
from filegate.adapters.upload_ledger import SqlUploadLedger
from filegate.adapters.url_signing import UrlSigner
from filegate.config import Settings, resolve_secret
from filegate.domain.clock import SystemClock
from filegate.domain.ports import Clock
from filegate.http.app import create_app
from filegate.http.context import ApiContext
from filegate.http.store_routes import store_router
from filegate.imaging import ImageLimits
from filegate.services.expiry import ExpirySweeper
from filegate.services.files import FileService
from filegate.services.registration import Registrar, RegistrationPolicy
from filegate.services.uploads import UploadRecorder
from filegate.services.verification import Verifier
from filegate.worker.batch import BatchProcessor
from filegate.worker.consumer import Consumer, ConsumerConfig
from filegate.worker.events import encode_object_created
from filegate.worker.retry import RetryPolicy


class ConfigurationError(Exception):
    """The settings name a backend or combination filegate cannot build."""


@dataclass(frozen=True)
class Runtime:
    """Everything one process needs, built from one ``Settings``."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    repository: SqlRepository
    queue: SqlQueue
    store: LocalObjectStore
    tokens: TokenAuthority
    registrar: Registrar
    files: FileService
    uploads: UploadRecorder
    verifier: Verifier
    sweeper: ExpirySweeper

    def api_context(self) -> ApiContext:
        return ApiContext(
            tokens=self.tokens,
            registrar=self.registrar,
            files=self.files,
            uploads=self.uploads,
            repository=self.repository,
            store=self.store,
            queue=self.queue,
            max_batch=self.settings.max_batch_registrations,
            cors_origins=self.settings.cors_origins,
        )

    def app(self) -> FastAPI:
        """The HTTP app, with the local store's routes when the store is local."""
        routers: tuple[APIRouter, ...] = (store_router(self.store, self.uploads),)
        return create_app(self.api_context(), routers)

    def consumer(self) -> Consumer:
        """The upload-event consumer loop, configured from the settings."""
        s = self.settings
        retry = RetryPolicy(
            base=timedelta(seconds=s.retry_base_seconds), cap=timedelta(seconds=s.retry_max_seconds)
        )
        config = ConsumerConfig(
            batch_size=s.batch_size,
            batch_window=timedelta(seconds=s.batch_window_seconds),
            visibility_timeout=s.visibility_timeout,
            concurrency=s.worker_concurrency,
            shutdown_grace=timedelta(seconds=s.shutdown_grace_seconds),
        )
        return Consumer(self.queue, BatchProcessor(self.verifier, retry), config)


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """Build the runtime; close pools, engines and worker processes on exit.

    The embedded SQLite database is migrated automatically; others need ``filegate migrate``.
    """
    clock = clock or SystemClock()
    secret = resolve_secret(settings)
    if is_sqlite(settings.database_url):
        migrate(settings.database_url)
    async with AsyncExitStack() as stack:
        engine = create_engine(
            settings.database_url, settings.db_pool_size, settings.db_max_overflow
        )
        stack.push_async_callback(engine.dispose)
        inspector = ProcessPoolInspector(
            _image_limits(settings),
            workers=settings.decode_workers,
            timeout_seconds=settings.decode_timeout_seconds,
            memory_limit_mb=settings.decode_memory_mb,
        )
        stack.push_async_callback(inspector.close)
        yield _assemble(settings, clock, secret, engine, inspector)


def _assemble(
    settings: Settings,
    clock: Clock,
    secret: str,
    engine: AsyncEngine,
    inspector: ProcessPoolInspector,
) -> Runtime:
    repository = SqlRepository(engine, clock)
    queue_name = _sql_queue_name(settings.queue_url)
    queue = SqlQueue(engine, clock, name=queue_name, max_receives=settings.max_receives)
    store = LocalObjectStore(
        _local_root(settings.store_url), settings.public_url, url_signer(settings, secret), clock
    )
    ledger = SqlUploadLedger(engine, clock, queue_name)
    uploads = UploadRecorder(
        repository, store, ledger, encode_object_created, clock, settings.expiry_grace
    )
    return Runtime(
        settings=settings,
        clock=clock,
        engine=engine,
        repository=repository,
        queue=queue,
        store=store,
        tokens=TokenAuthority(secret, clock, settings.jwt_algorithm, settings.jwt_public_key),
        registrar=Registrar(repository, store, clock, _registration_policy(settings)),
        files=FileService(repository, store, store, clock, settings.download_url_ttl),
        uploads=uploads,
        verifier=Verifier(repository, store, inspector, local_paths=store),
        sweeper=ExpirySweeper(repository, store, clock, settings.expiry_grace),
    )


def url_signer(settings: Settings, secret: str) -> UrlSigner:
    """The URL signer: the current key derived from the secret, plus configured old keys."""
    keys = {kid: key.get_secret_value().encode() for kid, key in settings.url_signing_keys.items()}
    current = settings.url_signing_key_id
    keys.setdefault(current, _derived_key(secret, current))
    return UrlSigner(keys, current)


def _derived_key(secret: str, key_id: str) -> bytes:
    return hmac.new(
        secret.encode(), f"filegate/url-signing/{key_id}".encode(), hashlib.sha256
    ).digest()


def _registration_policy(settings: Settings) -> RegistrationPolicy:
    return RegistrationPolicy(
        max_size=settings.max_file_size,
        allowed_types=frozenset(settings.allowed_types),
        upload_window=settings.upload_window,
        upload_url_ttl=settings.upload_url_ttl,
    )


def _image_limits(settings: Settings) -> ImageLimits:
    return ImageLimits(
        allowed_types=tuple(settings.allowed_types),
        max_pixels=settings.max_pixels,
        max_frames=settings.max_frames,
    )


def _local_root(store_url: str) -> Path:
    parts = urlsplit(store_url)
    if parts.scheme != "file":
        raise ConfigurationError(f"unsupported store URL scheme: {parts.scheme!r}")
    return Path(parts.netloc + parts.path)


def _sql_queue_name(queue_url: str) -> str:
    parts = urlsplit(queue_url)
    if parts.scheme != "sql":
        raise ConfigurationError(f"unsupported queue URL scheme: {parts.scheme!r}")
    return (parts.netloc + parts.path).strip("/") or "events"
