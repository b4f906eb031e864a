"""The periodic sweep of guest sessions: expire them, re-request lost purges, prune limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from filegate.domain.ports import Clock, RateLimiter, SessionRepository
from filegate.domain.sessions import SessionEnd
from filegate.services.sessions import RATE_WINDOW, SessionEnder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionSweepResult:
    """What one sweep did."""

    expired: int
    """Sessions past their expiry that this sweep ended (their purge was enqueued)."""
    requeued: int
    """Ended sessions whose purge had not finished after the retry interval: enqueued again."""
    pruned: int
    """Rate-limit windows forgotten."""


class SessionSweeper:
    """Ends expired sessions like a logout does, and makes sure every purge finishes."""

    def __init__(
        self,
        sessions: SessionRepository,
        ender: SessionEnder,
        limiter: RateLimiter,
        clock: Clock,
        purge_retry: timedelta = timedelta(minutes=15),
        batch_size: int = 500,
    ) -> None:
        self._sessions = sessions
        self._ender = ender
        self._limiter = limiter
        self._clock = clock
        self._purge_retry = purge_retry
        self._batch_size = batch_size

    async def sweep(self) -> SessionSweepResult:
        """One batch of each chore."""
        now = self._clock.now()
        expired = 0
        for session in await self._sessions.expired_open(now, self._batch_size):
            expired += await self._ender.end(session.id, SessionEnd.EXPIRED, now)
        overdue = await self._sessions.overdue_purges(
            now - self._purge_retry, now, self._batch_size
        )
        await self._ender.request_purges(overdue)
        pruned = await self._limiter.prune(now - 2 * RATE_WINDOW)
        result = SessionSweepResult(expired, len(overdue), pruned)
        if expired or overdue:
            log.info("session sweep", extra=vars(result))
        return result
