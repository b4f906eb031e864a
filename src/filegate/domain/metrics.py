"""The metrics port: what the core reports about its work, in the core's own words.

Adapters turn these calls into whatever a monitoring system wants (Prometheus counters and
histograms in :mod:`filegate.adapters.prometheus`). Every method is synchronous,
cheap and never raises: reporting must not slow down or break the work it describes.
"""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    """Events worth counting, reported by the services and the worker as they happen."""

    def registered(self, count: int) -> None:
        """``count`` new files were registered (replayed and deduplicated ones are not new)."""
        ...

    def upload_bytes(self, size: int) -> None:
        """One upload of ``size`` bytes was received and recorded by this process's store."""
        ...

    def verified(self, outcome: str, reason: str | None, seconds: float) -> None:
        """Verification moved a file to ``outcome`` (``ready`` or ``rejected``, the state's
        value), with ``reason`` for a rejection; checking the bytes took ``seconds``."""
        ...

    def time_to_ready(self, seconds: float) -> None:
        """A file became READY ``seconds`` after it was registered."""
        ...

    def batch(self, size: int, succeeded: int, retried: int, dead: int) -> None:
        """A batch of ``size`` messages was processed, with these outcome counts."""
        ...

    def retried(self, count: int) -> None:
        """``count`` messages were handed back to the queue to be retried after a backoff."""
        ...

    def dead_lettered(self, count: int) -> None:
        """``count`` messages were moved to the dead-letter queue."""
        ...

    def reconciled(self, action: str, count: int) -> None:
        """A reconciler run took ``action`` (e.g. ``missing_objects``) ``count`` times."""
        ...


class NoMetrics:
    """A ``Metrics`` that reports nothing: the default where nobody is watching."""

    def registered(self, count: int) -> None:
        pass

    def upload_bytes(self, size: int) -> None:
        pass

    def verified(self, outcome: str, reason: str | None, seconds: float) -> None:
        pass

    def time_to_ready(self, seconds: float) -> None:
        pass

    def batch(self, size: int, succeeded: int, retried: int, dead: int) -> None:
        pass

    def retried(self, count: int) -> None:
        pass

    def dead_lettered(self, count: int) -> None:
        pass

    def reconciled(self, action: str, count: int) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()
"""The shared no-op instance (it holds no state)."""


class DeliveryMetrics(Protocol):
    """What webhook delivery counts (``filegate_webhook_*`` on ``/metrics``)."""

    def attempt(self, endpoint: str, status_class: str, seconds: float, age: float) -> None:
        """One attempt to ``endpoint`` ended (``2xx`` … ``5xx``, ``timeout``, ``error``) after
        ``seconds``; its event was ``age`` seconds old (the endpoint's backlog age)."""
        ...

    def dropped(self, endpoint: str, reason: str) -> None:
        """A delivery was given up (``exhausted``, ``disabled``, ``unknown_endpoint``)."""
        ...

    def disabled(self, endpoint: str) -> None:
        """The endpoint was disabled (410 Gone in a row)."""
        ...


class NoDeliveryMetrics:
    """Counts nothing."""

    def attempt(self, endpoint: str, status_class: str, seconds: float, age: float) -> None:
        pass

    def dropped(self, endpoint: str, reason: str) -> None:
        pass

    def disabled(self, endpoint: str) -> None:
        pass


NO_DELIVERY_METRICS: DeliveryMetrics = NoDeliveryMetrics()
