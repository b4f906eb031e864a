"""Retention, quotas, deduplication, history and the reconciler: part of the composition
root.

:func:`build_upkeep` gives the API its part (:class:`~filegate.http.context.LifecycleApi`:
retention, history, quota status) and the worker its own (the lifecycle sweep, the
enforcer behind ``files.delete`` messages, the periodic reconciler, also run by
``filegate reconcile``).
"""

from __future__ import annotations

from dataclasses import dataclass

from filegate.adapters.sql.lifecycle import SqlLifecycleRepository
from filegate.bootstrap.policies import max_retention_ahead, quota_limits, reconcile_policy
from filegate.config import Settings
from filegate.domain.metrics import NO_METRICS, Metrics
from filegate.domain.ports import (
    Clock,
    FileRepository,
    MultipartUploads,
    ObjectLister,
    ObjectStore,
    Queue,
)
from filegate.http.context import LifecycleApi
from filegate.services.changes import FileChanges
from filegate.services.history import FileHistory
from filegate.services.lifecycle import LifecycleSweeper, RetentionEnforcer
from filegate.services.printing import PrintService
from filegate.services.quotas import QuotaService
from filegate.services.reconciler import Reconciler
from filegate.services.retention import RetentionService
from filegate.services.uploads import UploadRecorder


@dataclass(frozen=True, kw_only=True)
class Upkeep:
    """Everything retention, quotas, history and reconciliation add to a process."""

    api: LifecycleApi
    lifecycle: LifecycleSweeper
    enforcer: RetentionEnforcer
    reconciler: Reconciler


@dataclass(frozen=True, kw_only=True)
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


def build_upkeep(settings: Settings, deps: UpkeepDeps) -> Upkeep:
    """The services over the SQL queries in ``deps.queries`` and the runtime's store."""
    retention = RetentionService(
        deps.files, deps.queries, deps.clock, max_retention_ahead(settings)
    )
    api = LifecycleApi(
        retention=retention,
        changes=FileChanges(retention, PrintService(deps.files, deps.clock)),
        history=FileHistory(deps.files),
        quotas=QuotaService(deps.queries, quota_limits(settings)),
    )
    return Upkeep(
        api=api,
        lifecycle=LifecycleSweeper(deps.queries, deps.queue, deps.clock),
        enforcer=RetentionEnforcer(deps.files, deps.objects, deps.clock),
        reconciler=_reconciler(settings, deps),
    )


def _reconciler(settings: Settings, deps: UpkeepDeps) -> Reconciler:
    return Reconciler(
        deps.files,
        queries=deps.queries,
        usage=deps.queries,
        store=deps.objects,
        uploads=deps.uploads,
        queue=deps.queue,
        clock=deps.clock,
        policy=reconcile_policy(settings),
        lister=deps.lister,
        multipart=deps.multipart,
        metrics=deps.metrics,
    )
