"""``DeliveryMetrics`` on a Prometheus registry (the one ``/metrics`` renders)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from filegate.adapters.prometheus import HTTP_BUCKETS

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "timeout", "error")
DROP_REASONS = ("exhausted", "disabled", "unknown_endpoint")


class PrometheusDeliveryMetrics:
    """``filegate_webhook_*``: attempts by endpoint and status class, their latency, the age
    of the events being delivered per endpoint, deliveries given up, endpoints disabled."""

    def __init__(self, registry: CollectorRegistry, endpoints: Sequence[str] = ()) -> None:
        self._attempts = Counter(
            "filegate_webhook_attempts",
            "Webhook delivery attempts, by endpoint and status class (2xx, 4xx, 5xx, timeout, "
            "error).",
            ["endpoint", "status_class"],
            registry=registry,
        )
        self._seconds = Histogram(
            "filegate_webhook_attempt_seconds",
            "How long webhook delivery attempts took, by endpoint.",
            ["endpoint"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self._age = Gauge(
            "filegate_webhook_backlog_age_seconds",
            "Age of the event of the latest delivery attempt, by endpoint (how far behind it is).",
            ["endpoint"],
            registry=registry,
        )
        self._dropped = Counter(
            "filegate_webhook_dropped",
            "Deliveries given up, by endpoint and reason (exhausted, disabled, unknown_endpoint).",
            ["endpoint", "reason"],
            registry=registry,
        )
        self._disabled = Counter(
            "filegate_webhook_endpoints_disabled",
            "Endpoints disabled after answering 410 Gone in a row.",
            ["endpoint"],
            registry=registry,
        )
        for endpoint in endpoints:
            self._initialise(endpoint)

    def _initialise(self, endpoint: str) -> None:
        """Every series of ``endpoint`` from zero, so that rates and increases start at once."""
        for status_class in STATUS_CLASSES:
            self._attempts.labels(endpoint, status_class)
        for reason in DROP_REASONS:
            self._dropped.labels(endpoint, reason)
        self._seconds.labels(endpoint)
        self._age.labels(endpoint)
        self._disabled.labels(endpoint)

    def attempt(self, endpoint: str, status_class: str, seconds: float, age: float) -> None:
        self._attempts.labels(endpoint, status_class).inc()
        self._seconds.labels(endpoint).observe(seconds)
        self._age.labels(endpoint).set(age)

    def dropped(self, endpoint: str, reason: str) -> None:
        self._dropped.labels(endpoint, reason).inc()

    def disabled(self, endpoint: str) -> None:
        self._disabled.labels(endpoint).inc()
