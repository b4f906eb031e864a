"""When to retry a request, and how long to wait first: pure decisions, no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

_TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_NOTHING_PROCESSED_STATUSES = frozenset({429})
"""Answers that guarantee the server did nothing: safe to repeat any request."""

_NOTHING_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before the request left this process: safe to repeat any request."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures with exponential backoff and full jitter.

    A request is tried at most ``attempts`` times. Before try ``n + 1`` the client waits a
    random time between 0 and ``min(max_delay, base_delay * 2 ** (n - 1))`` seconds, or the
    server's ``Retry-After`` when that is longer (capped at ``max_retry_after``).
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("need attempts >= 1 and non-negative delays")

    def delay(
        self, failures: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after the ``failures``-th failed try (1 for the first)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        jittered = (rng or random).uniform(0, ceiling)
        if retry_after is None:
            return jittered
        return max(jittered, min(retry_after, self.max_retry_after))


DEFAULT_RETRIES = RetryPolicy()
NO_RETRIES = RetryPolicy(attempts=1)


def retryable_status(status: int, idempotent: bool) -> bool:
    """Whether an answer with ``status`` is worth repeating the request for."""
    return status in (_TRANSIENT_STATUSES if idempotent else _NOTHING_PROCESSED_STATUSES)


def retryable_error(error: httpx.TransportError, idempotent: bool) -> bool:
    """Whether a transport failure is worth repeating the request for.

    A request that may have reached the server is repeated only when repeating it is
    harmless (``idempotent``).
    """
    return idempotent or isinstance(error, _NOTHING_SENT_ERRORS)


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
