"""A ``Metrics`` fake that records every report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordedVerification:
    """One ``Metrics.verified`` call."""

    outcome: str
    reason: str | None
    seconds: float


@dataclass(frozen=True)
class RecordedBatch:
    """One ``Metrics.batch`` call."""

    size: int
    succeeded: int
    retried: int
    dead: int


class RecordingMetrics:
    """A ``Metrics`` that remembers every report, for assertions in unit tests."""

    def __init__(self) -> None:
        self.registrations = 0
        self.uploads: list[int] = []
        """The size of each upload, in order."""
        self.verifications: list[RecordedVerification] = []
        self.times_to_ready: list[float] = []
        self.batches: list[RecordedBatch] = []
        self.retried_messages = 0
        self.dead_lettered_messages = 0
        self.reconciled_actions: dict[str, int] = {}
        """Repairs reported by reconciler runs, summed by action."""

    def registered(self, count: int) -> None:
        self.registrations += count

    def upload_bytes(self, size: int) -> None:
        self.uploads.append(size)

    def verified(self, outcome: str, reason: str | None, seconds: float) -> None:
        self.verifications.append(RecordedVerification(outcome, reason, seconds))

    def time_to_ready(self, seconds: float) -> None:
        self.times_to_ready.append(seconds)

    def batch(self, size: int, succeeded: int, retried: int, dead: int) -> None:
        self.batches.append(RecordedBatch(size, succeeded, retried, dead))

    def retried(self, count: int) -> None:
        self.retried_messages += count

    def dead_lettered(self, count: int) -> None:
        self.dead_lettered_messages += count

    def reconciled(self, action: str, count: int) -> None:
        self.reconciled_actions[action] = self.reconciled_actions.get(action, 0) + count
