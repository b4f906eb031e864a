"""A ``SweepClaims`` fake: the claims of one process, in a dict."""

from __future__ import annotations

from datetime import datetime, timedelta

from filegate.domain.ports import Clock
from filegate.domain.sweeps import claim_slack


class MemorySweepClaims:
    """Claims as :class:`~filegate.adapters.sql.sweep_claims.SqlSweepClaims` makes them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.due: dict[str, datetime] = {}
        self.holders: dict[str, str] = {}

    async def claim(self, name: str, interval: timedelta, worker: str) -> bool:
        now = self._clock.now()
        due = self.due.get(name)
        if due is not None and due > now + claim_slack(interval):
            return False
        self.due[name], self.holders[name] = now + interval, worker
        return True
