"""Events age out of the log after the retention window (streams resume, replays reach back
that far); events not yet relayed to webhooks stay until they are."""

from __future__ import annotations

from datetime import timedelta

from filegate.domain.ports import Clock, EventOutbox

PRUNE_BATCH = 1000


class EventPruner:
    """Deletes relayed events older than ``retention``, a bounded batch at a time."""

    def __init__(self, outbox: EventOutbox, clock: Clock, retention: timedelta) -> None:
        self._outbox = outbox
        self._clock = clock
        self._retention = retention

    async def sweep(self) -> int:
        """Prune until nothing old is left; how many events were deleted."""
        before = self._clock.now() - self._retention
        total = 0
        while (deleted := await self._outbox.prune(before, PRUNE_BATCH)) > 0:
            total += deleted
            if deleted < PRUNE_BATCH:
                break
        return total
