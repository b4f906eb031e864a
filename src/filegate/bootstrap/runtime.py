"""The runtime of one process, built from one ``Settings``: backends, services, the API
and the worker's parts. Entry points (``filegate serve``, ``worker``, the CLI's
operations, the Lambda handler) open one with :func:`open_runtime`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI

from filegate.adapters.counted_queue import CountedQueue
from filegate.adapters.oidc import OidcVerifier
from filegate.adapters.prometheus import PrometheusMetrics
from filegate.adapters.qr import SegnoQrCodes
from filegate.adapters.tokens import TokenAuthority
from filegate.bootstrap.backends import (
    ConfigurationError,
    Database,
    Queues,
    Store,
    open_database,
    open_queues,
    open_store,
)
from filegate.bootstrap.guests import GuestDeps, Guests, build_guests
from filegate.bootstrap.policies import (
    api_settings,
    consumer_config,
    decode_pool,
    oidc_issuer,
    quota_limits,
    registration_policy,
    retry_policy,
    sweep_intervals,
)
from filegate.bootstrap.tracing import Tracing, open_tracing
from filegate.bootstrap.upkeep import Upkeep, UpkeepDeps, build_upkeep
from filegate.bootstrap.webhooks import Webhooks, open_webhooks
from filegate.config import InsecureSecret, Settings, resolve_secret
from filegate.domain.clock import SystemClock
from filegate.domain.ports import Clock, FileRepository, Queue
from filegate.http.app import create_app
from filegate.http.context import ApiContext, Backends
from filegate.imaging.pool import ProcessPoolInspector
from filegate.services.event_retention import EventPruner
from filegate.services.expiry import ExpirySweeper
from filegate.services.files import FileService
from filegate.services.multipart import MultipartService
from filegate.services.previews import PreviewService
from filegate.services.registration import Registrar
from filegate.services.similar import SimilarFiles
from filegate.services.uploads import UploadRecorder
from filegate.services.verification import Verifier
from filegate.worker.batch import BatchProcessor
from filegate.worker.consumer import Consumer
from filegate.worker.periodic import Sweep
from filegate.worker.tasks import task_table

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

EVENT_PRUNE_INTERVAL = timedelta(hours=1)
RELAY_SWEEP_INTERVAL = timedelta(minutes=1)

__all__ = ["ConfigurationError", "Runtime", "Sweep", "open_runtime", "open_worker_runtime"]


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """Everything one process needs, built from one ``Settings``."""

    settings: Settings
    clock: Clock
    database: Database
    store: Store
    queues: Queues
    metrics: PrometheusMetrics
    """What this process counts; served at ``GET /metrics``."""
    tracing: Tracing
    """What this process traces with (a file's spans; webhook deliveries)."""
    tokens: TokenAuthority
    api: ApiContext
    """The services behind the HTTP API."""
    verifier: Verifier
    expiry: ExpirySweeper
    guests: Guests
    upkeep: Upkeep
    webhooks: Webhooks | None = None
    """The webhook endpoints and their delivery, when any are configured."""

    @property
    def repository(self) -> FileRepository:
        return self.database.files

    @property
    def queue(self) -> Queue:
        return self.queues.queue

    def app(self) -> FastAPI:
        """The HTTP app over this runtime's services."""
        return create_app(self.api)

    def processor(self) -> BatchProcessor:
        """The batch processor shared by the worker loop and the Lambda handler."""
        tasks = task_table(retention=self.upkeep.enforcer, purger=self.guests.purger)
        return BatchProcessor(
            self.verifier, retry_policy(self.settings), tasks=tasks, metrics=self.metrics
        )

    def consumer(self) -> Consumer:
        """The upload-event consumer loop, configured from the settings."""
        return Consumer(self.queue, self.processor(), consumer_config(self.settings), self.metrics)

    def sweeps(self) -> list[Sweep]:
        """The worker's periodic maintenance, each with its interval."""
        every = sweep_intervals(self.settings)
        sweeps = [
            Sweep("expiry", self.expiry.sweep, every.expiry),
            Sweep("sessions", self.guests.sweeper.sweep, every.sessions),
            Sweep("lifecycle", self.upkeep.lifecycle.sweep, every.lifecycle),
        ]
        if every.reconcile is not None:
            sweeps.append(Sweep("reconcile", self.upkeep.reconciler.run, every.reconcile))
        pruner = EventPruner(
            self.database.events, self.clock, timedelta(hours=self.settings.event_retention_hours)
        )
        sweeps.append(Sweep("events", pruner.sweep, EVENT_PRUNE_INTERVAL))
        if self.webhooks is not None:  # workers relay at once; this is the Lambda shape's
            sweeps.append(Sweep("webhooks", self.webhooks.relay.relay_all, RELAY_SWEEP_INTERVAL))
        return sweeps


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    clock: Clock | None = None,
    *,
    needs_secret: bool = True,
    tracer_provider: TracerProvider | None = None,
) -> AsyncIterator[Runtime]:
    """Build the runtime; close clients, pools, engines and decode processes on exit (and
    flush the traces).

    The embedded SQLite database is migrated automatically; others need ``filegate migrate``.
    A worker-only process (``needs_secret=False``) signs and verifies nothing, so it runs
    without the secret when none is configured. ``tracer_provider`` replaces the tracing
    the settings ask for (tests record spans in memory with it).
    """
    clock = clock or SystemClock()
    secret = _secret(settings, needs_secret)
    async with AsyncExitStack() as stack:
        tracing = open_tracing(settings, stack, tracer_provider)
        database = await open_database(settings, clock, stack)
        store = await open_store(settings, clock, secret, stack)
        metrics = PrometheusMetrics()
        metrics.watch_transactions(database.sql.transactions.snapshot)
        queues = _counted(await open_queues(settings, database, clock, stack), metrics.queue_call)
        pool = decode_pool(settings)
        inspector = ProcessPoolInspector(
            pool.limits,
            workers=pool.workers,
            timeout_seconds=pool.timeout_seconds,
            memory_limit_mb=pool.memory_limit_mb,
            renditions=pool.renditions,
        )
        stack.push_async_callback(inspector.close)
        oidc = _oidc(settings, clock, stack)
        parts = _Parts(settings, clock, secret, database, store, queues, metrics, oidc, tracing)
        webhooks = await open_webhooks(
            settings, database, clock, metrics.registry, stack, tracing.tracer
        )
        yield replace(parts.runtime(inspector), webhooks=webhooks)


def _counted(queues: Queues, count: Callable[[str], None]) -> Queues:
    """``queues`` with its queue's calls counted (the ledger's own sends are not)."""
    return replace(queues, queue=CountedQueue(queues.queue, count))


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


def _oidc(settings: Settings, clock: Clock, stack: AsyncExitStack) -> OidcVerifier | None:
    """The OIDC issuer's verifier when one is configured (closed with the runtime)."""
    issuer = oidc_issuer(settings)
    if issuer is None:
        return None
    verifier = OidcVerifier(issuer, clock)
    stack.push_async_callback(verifier.close)
    return verifier


@dataclass(frozen=True)
class _Parts:
    """The opened backends, from which the services are built."""

    settings: Settings
    clock: Clock
    secret: str
    database: Database
    store: Store
    queues: Queues
    metrics: PrometheusMetrics
    oidc: OidcVerifier | None
    tracing: Tracing

    def runtime(self, inspector: ProcessPoolInspector) -> Runtime:
        uploads = self._uploads()
        registrar = self._registrar()
        guests = self._guests(registrar, uploads)
        upkeep = self._upkeep(uploads)
        tokens = TokenAuthority(
            self.secret,
            self.clock,
            self.settings.jwt_algorithm,
            self.settings.jwt_public_key,
            oidc=self.oidc,
        )
        return Runtime(
            settings=self.settings,
            clock=self.clock,
            database=self.database,
            store=self.store,
            queues=self.queues,
            metrics=self.metrics,
            tracing=self.tracing,
            tokens=tokens,
            api=self._api(tokens, registrar, uploads, guests, upkeep),
            verifier=self._verifier(inspector),
            expiry=ExpirySweeper(
                self.database.files,
                self.store.objects,
                uploads,
                self.clock,
                self.settings.expiry_grace,
            ),
            guests=guests,
            upkeep=upkeep,
        )

    def _uploads(self) -> UploadRecorder:
        return UploadRecorder(
            self.database.files,
            self.store.objects,
            self.queues.ledger,
            self.clock,
            grace=self.settings.expiry_grace,
            metrics=self.metrics,
            tracer=self.tracing.tracer,
        )

    def _registrar(self) -> Registrar:
        settings = self.settings
        return Registrar(
            self.database.files,
            self.store.uploads,
            self.clock,
            registration_policy(settings, multipart=self.store.multipart is not None),
            quotas=quota_limits(settings),
            dedupe=settings.dedupe,
            metrics=self.metrics,
            tracer=self.tracing.tracer,
        )

    def _verifier(self, inspector: ProcessPoolInspector) -> Verifier:
        return Verifier(
            self.database.files,
            self.store.objects,
            inspector,
            local_paths=self.store.local_paths,
            event_keys=self.store.event_keys,
            metrics=self.metrics,
            tracer=self.tracing.tracer,
        )

    def _guests(self, registrar: Registrar, uploads: UploadRecorder) -> Guests:
        database = self.database
        deps = GuestDeps(
            clock=self.clock,
            secret=self.secret,
            files=database.files,
            sessions=database.sessions,
            purgeable=database.sessions,
            grants=database.grants,
            rates=database.rates,
            objects=self.store.objects,
            queue=self.queues.queue,
            registrar=registrar,
            uploads=uploads,
        )
        return build_guests(self.settings, deps)

    def _upkeep(self, uploads: UploadRecorder) -> Upkeep:
        deps = UpkeepDeps(
            queries=self.database.queries,
            clock=self.clock,
            files=self.database.files,
            objects=self.store.objects,
            queue=self.queues.queue,
            uploads=uploads,
            lister=self.store.lister,
            multipart=self.store.multipart,
            metrics=self.metrics,
        )
        return build_upkeep(self.settings, deps)

    def _multipart(self, uploads: UploadRecorder) -> MultipartService | None:
        if self.store.multipart is None:
            return None
        return MultipartService(
            self.database.files,
            self.store.multipart,
            uploads,
            self.clock,
            self.settings.upload_url_ttl,
            self.settings.multipart_threshold,
        )

    def _api(
        self,
        tokens: TokenAuthority,
        registrar: Registrar,
        uploads: UploadRecorder,
        guests: Guests,
        upkeep: Upkeep,
    ) -> ApiContext:
        files = FileService(
            self.database.files,
            self.store.objects,
            self.store.downloads,
            self.clock,
            self.settings.download_url_ttl,
        )
        return ApiContext(
            settings=api_settings(self.settings),
            tokens=tokens,
            metrics=self.metrics,
            qr=SegnoQrCodes(),
            backends=Backends(
                files=self.database.files, store=self.store.objects, queue=self.queues.queue
            ),
            registrar=registrar,
            files=files,
            similar=SimilarFiles(self.database.files),
            previews=PreviewService(
                self.database.files, self.store.downloads, self.settings.download_url_ttl
            ),
            uploads=uploads,
            guests=guests.api,
            lifecycle=upkeep.api,
            multipart=self._multipart(uploads),
            served=self.store.served,
            events=self.database.events,
        )
