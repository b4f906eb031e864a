"""The ``Metrics`` port on prometheus-client, plus the HTTP request histogram and queue gauges.

Each instance owns a ``CollectorRegistry`` (never the process-global one), so a process
may build many runtimes, as the tests do, without clashing metric names. Every label value
comes from a closed set (route templates, state names, rejection reasons): no ids, paths
or client input ever become a label, so the number of series stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

import filegate
from filegate.adapters.counted_queue import QUEUE_OPERATIONS
from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import QueueDepth, RejectionReason
from filegate.domain.ports import Queue

log = logging.getLogger(__name__)

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
VERIFICATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0)
TIME_TO_READY_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
BATCH_SIZE_BUCKETS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 1000, 10000)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (e.g. a 404 for an unknown path)."""
NO_REASON = "none"
"""The reason label of a verification that did not reject."""
_REASONS = frozenset(reason.value for reason in RejectionReason)
_OUTCOMES = ("ready", "rejected")
_MESSAGE_OUTCOMES = ("succeeded", "retried", "dead")
RECONCILE_ACTIONS = (
    "lost_events_recovered",
    "stuck_uploads_requeued",
    "missing_objects",
    "orphans_deleted",
    "multipart_aborted",
    "usage_corrected",
    "renditions_missing",
)
"""What the reconciler repairs (``filegate.services.reconciler.ReconcileResult``)."""


class PrometheusMetrics:
    """Implements :class:`filegate.domain.metrics.Metrics`; also observes HTTP requests
    (:meth:`observe_request`) and renders the text exposition (:meth:`render`)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, depth_timeout_seconds: float = 5.0) -> None:
        self.registry = CollectorRegistry()
        self._depth_timeout = depth_timeout_seconds
        self._queue = _QueueDepthCollector()
        self.registry.register(self._queue)
        ProcessCollector(registry=self.registry)
        self._define()
        self._initialise_series()

    def _define(self) -> None:
        r = self.registry
        self._requests = Histogram(
            "filegate_http_request_duration_seconds",
            "HTTP requests by method, route template and status code, and their latency.",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self._registrations = Counter(
            "filegate_registrations",
            "Files registered (replays and duplicates excluded).",
            registry=r,
        )
        self._uploads = Counter(
            "filegate_uploads", "Uploads received and recorded by the local store.", registry=r
        )
        self._upload_bytes = Counter(
            "filegate_upload_bytes", "Bytes of uploads recorded by the local store.", registry=r
        )
        self._verifications = Counter(
            "filegate_verifications",
            "Verification verdicts applied, by outcome and rejection reason.",
            ["outcome", "reason"],
            registry=r,
        )
        self._verification_seconds = Histogram(
            "filegate_verification_duration_seconds",
            "Time spent checking a file's bytes (size, checksum, decode), by outcome.",
            ["outcome"],
            buckets=VERIFICATION_BUCKETS,
            registry=r,
        )
        self._time_to_ready = Histogram(
            "filegate_time_to_ready_seconds",
            "Time from a file's registration to its READY transition.",
            buckets=TIME_TO_READY_BUCKETS,
            registry=r,
        )
        self._batch_size = Histogram(
            "filegate_batch_size",
            "Messages per processed batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self._batch_messages = Counter(
            "filegate_batch_messages",
            "Messages processed in batches, by outcome (succeeded, retried, dead).",
            ["outcome"],
            registry=r,
        )
        self._retried = Counter(
            "filegate_messages_retried", "Messages handed back to the queue to retry.", registry=r
        )
        self._dead_lettered = Counter(
            "filegate_messages_dead_lettered",
            "Messages moved to the dead-letter queue.",
            registry=r,
        )
        self._queue_calls = Counter(
            "filegate_queue_calls",
            "Calls made to the queue through its port, by operation (receive, delete_batch, ...).",
            ["op"],
            registry=r,
        )
        self._reconciled = Counter(
            "filegate_reconciler_actions",
            "Repairs made by the reconciler, by action (e.g. missing_objects).",
            ["action"],
            registry=r,
        )
        build = Gauge(
            "filegate_build_info", "Always 1; the version as a label.", ["version"], registry=r
        )
        build.labels(filegate.__version__).set(1)

    def _initialise_series(self) -> None:
        """Create every known series at zero, so rates and increases start from the first
        scrape instead of from the first event."""
        self._verifications.labels("ready", NO_REASON)
        for reason in sorted(_REASONS):
            self._verifications.labels("rejected", reason)
        for outcome in _OUTCOMES:
            self._verification_seconds.labels(outcome)
        for outcome in _MESSAGE_OUTCOMES:
            self._batch_messages.labels(outcome)
        for action in RECONCILE_ACTIONS:
            self._reconciled.labels(action)
        for operation in QUEUE_OPERATIONS:
            self._queue_calls.labels(operation)

    # --- the Metrics port -------------------------------------------------------------

    def registered(self, count: int) -> None:
        self._registrations.inc(count)

    def upload_bytes(self, size: int) -> None:
        self._uploads.inc()
        self._upload_bytes.inc(size)

    def verified(self, outcome: str, reason: str | None, seconds: float) -> None:
        outcome = outcome if outcome in _OUTCOMES else "other"
        label = NO_REASON if reason is None else reason if reason in _REASONS else "OTHER"
        self._verifications.labels(outcome, label).inc()
        self._verification_seconds.labels(outcome).observe(max(seconds, 0.0))

    def time_to_ready(self, seconds: float) -> None:
        self._time_to_ready.observe(max(seconds, 0.0))

    def batch(self, size: int, succeeded: int, retried: int, dead: int) -> None:
        self._batch_size.observe(size)
        for outcome, count in zip(_MESSAGE_OUTCOMES, (succeeded, retried, dead), strict=True):
            self._batch_messages.labels(outcome).inc(count)

    def retried(self, count: int) -> None:
        self._retried.inc(count)

    def dead_lettered(self, count: int) -> None:
        self._dead_lettered.inc(count)

    def reconciled(self, action: str, count: int) -> None:
        self._reconciled.labels(action if action in RECONCILE_ACTIONS else "other").inc(count)

    # --- HTTP and exposition ----------------------------------------------------------

    def queue_call(self, operation: str) -> None:
        """One call to the queue (see :class:`~filegate.adapters.counted_queue.CountedQueue`)."""
        self._queue_calls.labels(operation).inc()

    def watch_transactions(self, snapshot: Callable[[], Mapping[str, int]]) -> None:
        """Expose ``snapshot()`` (transactions run so far, by mode) at every scrape as
        ``filegate_db_transactions_total{mode}``."""
        self.registry.register(_TransactionCollector(snapshot))

    def observe_request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One finished HTTP request; ``route`` is the matched route's template (``None``
        when no route matched). Unknown methods are counted as ``OTHER``."""
        method = method if method in HTTP_METHODS else "OTHER"
        self._requests.labels(method, route or UNMATCHED_ROUTE, str(status)).observe(seconds)

    async def render(self, queue: Queue | None = None) -> bytes:
        """The text exposition; with ``queue``, its depth is measured first (so the queue
        gauges are as of this scrape, or absent when the queue does not answer)."""
        if queue is not None:
            self._queue.latest = await self._depth(queue)
            self._queue.measured = True
        return generate_latest(self.registry)

    async def _depth(self, queue: Queue) -> QueueDepth | None:
        try:
            return await asyncio.wait_for(queue.depth(), self._depth_timeout)
        except (BackendUnavailable, TimeoutError) as exc:
            log.warning("queue depth unavailable for metrics: %s", type(exc).__name__)
        except Exception:
            log.exception("queue depth failed unexpectedly")
        return None


class _TransactionCollector:
    """``filegate_db_transactions_total{mode}`` read from the database's own counter."""

    def __init__(self, snapshot: Callable[[], Mapping[str, int]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "filegate_db_transactions",
            "Database transactions run by this process, by mode (read or write).",
            labels=["mode"],
        )
        for mode, count in sorted(self._snapshot().items()):
            family.add_metric([mode], count)
        yield family


class _QueueDepthCollector:
    """Queue gauges from the latest measured depth (none before the first measurement);
    ``filegate_queue_up`` says whether the last measurement succeeded."""

    def __init__(self) -> None:
        self.latest: QueueDepth | None = None
        self.measured = False

    def collect(self) -> Iterable[Metric]:
        if not self.measured:
            return
        up = GaugeMetricFamily(
            "filegate_queue_up", "1 when the last queue depth measurement succeeded."
        )
        up.add_metric([], 1.0 if self.latest is not None else 0.0)
        yield up
        depth = self.latest
        if depth is None:
            return
        messages = GaugeMetricFamily(
            "filegate_queue_messages",
            "Messages in the queue by state: visible (waiting), in_flight (claimed), dead (DLQ).",
            labels=["state"],
        )
        messages.add_metric(["visible"], depth.visible)
        messages.add_metric(["in_flight"], depth.in_flight)
        messages.add_metric(["dead"], depth.dead)
        yield messages
        yield GaugeMetricFamily(
            "filegate_queue_oldest_message_age_seconds",
            "Age of the oldest message waiting in the queue (0 when none waits).",
            value=depth.oldest_age_seconds or 0.0,
        )
