"""Claims on periodic sweeps: each interval's run of a sweep goes to one worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class SweepClaims(Protocol):
    """Who runs a sweep now: the first worker to claim it once it is due."""

    async def claim(self, name: str, interval: timedelta, worker: str) -> bool:
        """Claim this interval's run of sweep ``name`` for ``worker``.

        True for exactly one caller once the sweep is due (its previous claim is at least
        ``interval`` old, less a small slack, or there never was one); that claim makes it
        due again one ``interval`` from now. False for everyone else. A worker that dies
        holds nothing: the next claim after the interval goes to whoever asks.
        """
        ...
