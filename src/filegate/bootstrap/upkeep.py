"""Composition of retention, quotas, deduplication, history and the reconciler: part of the
composition root.

``filegate.bootstrap.runtime`` calls :func:`build_upkeep` once and hands the parts to the API
(retention, history, quota status) and to the worker (lifecycle sweep, the retention
enforcer behind ``files.delete``, periodic reconciler) and the ``filegate reconcile`` command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.config import Settings
from filegate.domain.messages import encode_files_delete, encode_object_created
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.ports import (
    Clock,
    FileRepository,
    MultipartUploads,
    ObjectLister,
    ObjectStore,
    Queue,
)
from filegate.domain.quotas import QuotaLimits
from filegate.services.history import FileHistory
from filegate.services.lifecycle import LifecycleSweeper, RetentionEnforcer
from filegate.services.quotas import QuotaService
from filegate.services.reconciler import ReconcilePolicy, Reconciler
from filegate.services.retention import RetentionService
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True)
class Upkeep:
    """Everything retention, quotas, history and reconciliation add to a process."""

    retention: RetentionService
    history: FileHistory
    quotas: QuotaService
    lifecycle: LifecycleSweeper
    reconciler: Reconciler
    enforcer: RetentionEnforcer


@dataclass(frozen=True)
class UpkeepDeps:
    """What these services need from the rest of the runtime."""

    queries: SqlLifecycleRepository
    clock: Clock
    files: FileRepository
    objects: ObjectStore
    queue: Queue
    uploads: UploadRecorder
    lister: ObjectLister | None = None
    multipart: MultipartUploads | None = None
    metrics: Metrics = NO_METRICS


def quota_limits(settings: Settings) -> QuotaLimits:
    """The per-owner limits of the settings (0: unlimited)."""
    return QuotaLimits(
        max_pending=settings.quota_max_pending,
        max_files=settings.quota_max_files,
        max_bytes=settings.quota_max_bytes,
    )


def reconcile_policy(settings: Settings) -> ReconcilePolicy:
    """The reconciler's thresholds of the settings."""
    return ReconcilePolicy(
        lost_event_after=timedelta(seconds=settings.reconcile_lost_event_after_seconds),
        stuck_after=timedelta(seconds=settings.reconcile_stuck_after_seconds),
        orphan_grace=timedelta(seconds=settings.reconcile_orphan_grace_seconds),
        ready_checks_per_run=settings.reconcile_ready_checks,
    )


def build_upkeep(settings: Settings, deps: UpkeepDeps) -> Upkeep:
    """The services over the SQL queries in ``deps.queries`` and the runtime's store."""
    reconciler = Reconciler(
        deps.files,
        deps.queries,
        deps.queries,
        deps.objects,
        deps.uploads,
        deps.queue,
        encode_object_created,
        deps.clock,
        reconcile_policy(settings),
        lister=deps.lister,
        multipart=deps.multipart,
        metrics=deps.metrics,
    )
    max_ahead = timedelta(days=settings.max_retention_days)
    return Upkeep(
        retention=RetentionService(deps.files, deps.queries, deps.clock, max_ahead),
        history=FileHistory(deps.files),
        quotas=QuotaService(deps.queries, quota_limits(settings)),
        lifecycle=LifecycleSweeper(deps.queries, deps.queue, encode_files_delete, deps.clock),
        reconciler=reconciler,
        enforcer=RetentionEnforcer(deps.files, deps.objects, deps.clock),
    )
