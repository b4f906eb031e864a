"""When a failed message comes back: capped exponential backoff with "equal jitter".

Equal jitter (half the exponential step fixed, half random) rather than full jitter: a
retried message costs one of the queue's few receives (``max_receives``) before it is
dead-lettered, so a retry must never come back almost at once, as full jitter allows, while
the random half still spreads a burst of failures (a backend outage) over time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from filegate.domain.ports.queue import SQS_MAX_VISIBILITY

__all__ = ["SQS_MAX_VISIBILITY", "RetryPolicy"]

_MAX_DOUBLINGS = 64  # 2**64 * any base is past every cap; keeps the float finite


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for retry ``attempt`` n (1 = first retry): ``step = min(cap, base * 2**(n-1))``.

    The delay lies in ``[step / 2, step]``: half fixed, half drawn from ``random``.
    ``cap`` is itself capped at :data:`SQS_MAX_VISIBILITY`.
    """

    base: timedelta
    cap: timedelta

    def __post_init__(self) -> None:
        if self.base < timedelta(0) or self.cap < timedelta(0):
            raise ValueError("retry base and cap must not be negative")

    @property
    def ceiling(self) -> timedelta:
        """The longest delay this policy gives: ``cap``, at most 12 hours."""
        return min(self.cap, SQS_MAX_VISIBILITY)

    def step(self, attempt: int) -> timedelta:
        """The backoff step before jitter for ``attempt`` (≥ 1); never above the ceiling."""
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        doublings = min(attempt - 1, _MAX_DOUBLINGS)
        seconds = self.base.total_seconds() * 2.0**doublings
        return min(self.ceiling, timedelta(seconds=min(seconds, self.ceiling.total_seconds())))

    def delay(self, attempt: int, random: Callable[[], float]) -> timedelta:
        """The delay before retry ``attempt``; ``random()`` is expected in ``[0, 1)``.

        Pure given ``random``. Out-of-range draws are clamped, so the result always lies in
        ``[0, ceiling]``.
        """
        step = self.step(attempt)
        draw = min(max(random(), 0.0), 1.0)
        return min(step, step / 2 + (step / 2) * draw)
