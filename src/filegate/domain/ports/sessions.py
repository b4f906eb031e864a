"""Guest sessions, upload grants, rate limits, and the files an owner's purge deletes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from filegate.domain.grants import UploadGrant
from filegate.domain.models import (
    FileRecord,
)
from filegate.domain.sessions import Claim, GuestSession, RateDecision, SessionEnd


class SessionRepository(Protocol):
    """Guest sessions. Times are passed in: the adapter keeps no clock of its own."""

    async def add(self, session: GuestSession) -> None:
        """Insert a new session; raises ``ValueError`` when its id exists."""
        ...

    async def get(self, session_id: str) -> GuestSession | None:
        """The session with this id, ended or not."""
        ...

    async def end(self, session_id: str, reason: SessionEnd, now: datetime) -> GuestSession | None:
        """Compare-and-set: end a session not ended yet, and note its purge as requested.

        Returns the ended session; ``None`` when it is missing or already ended (so two
        racing ends, say a logout and the expiry sweep, end it once).
        """
        ...

    async def expired_open(self, now: datetime, limit: int) -> list[GuestSession]:
        """Up to ``limit`` sessions not ended whose expiry is at or before ``now``."""
        ...

    async def claim(self, session_id: str, user: str, now: datetime) -> Claim | None:
        """In one step: end a live session as CLAIMED by ``user`` (an owner key), move
        every file of the session to ``user`` (object keys unchanged; idempotency keys
        cleared; one history row per file with reason ``CLAIMED``) and its upload grants.

        A session already claimed by the same ``user`` is claimed again (moving files that
        arrived late), so a retried claim succeeds. ``None`` when the session is missing,
        expired, ended otherwise, or claimed by someone else.
        """
        ...

    async def overdue_purges(
        self, requested_before: datetime, now: datetime, limit: int
    ) -> list[GuestSession]:
        """Ended, unclaimed, unpurged sessions whose purge was last requested before
        ``requested_before``; their request time becomes ``now`` (so each is requested
        again once per interval, not on every sweep)."""
        ...

    async def mark_purged(self, session_id: str, now: datetime) -> None:
        """Record that the session's files are all deleted."""
        ...


class PurgeableFiles(Protocol):
    """The files an owner's purge deletes."""

    async def purgeable_files(self, owner: str, now: datetime, limit: int) -> list[FileRecord]:
        """Up to ``limit`` of ``owner``'s files not DELETED yet, oldest first, leaving out
        files whose retention pins them (indefinitely, or until after ``now``)."""
        ...


class GrantRepository(Protocol):
    """Upload grants and the files registered through them. Use counts are atomic."""

    async def add(self, grant: UploadGrant) -> None:
        """Insert a new grant; raises ``ValueError`` when its id exists."""
        ...

    async def get(self, grant_id: str) -> UploadGrant | None:
        """The grant with this id, whoever owns it, revoked or not."""
        ...

    async def by_code(self, code: str) -> UploadGrant | None:
        """The grant whose short link has this code, revoked or not."""
        ...

    async def take_uses(self, grant_id: str, wanted: int, now: datetime) -> int:
        """Take up to ``wanted`` uses at once; how many were taken (0 when the grant is
        missing, revoked, expired or exhausted). Concurrent takers never get more than
        the grant had in total."""
        ...

    async def give_back(self, grant_id: str, count: int) -> None:
        """Return ``count`` uses taken but not spent (refused or replayed registrations)."""
        ...

    async def revoke(self, grant_id: str, owner: str, now: datetime) -> bool:
        """Revoke ``owner``'s grant (again: no change); ``False`` when owner has no such grant."""
        ...

    async def revoke_owned(self, owner: str, now: datetime) -> int:
        """Revoke every unrevoked grant of ``owner``; how many."""
        ...

    async def link_file(self, grant_id: str, file_id: str) -> bool:
        """Record that the grant registered the file; ``False`` when already recorded."""
        ...

    async def registered(self, grant_id: str, file_id: str) -> bool:
        """Whether the grant registered the file."""
        ...


class RateLimiter(Protocol):
    """Fixed-window hit counters shared by every process using the same backend."""

    async def hit(self, bucket: str, limit: int, window: timedelta, now: datetime) -> RateDecision:
        """Count one hit in ``bucket``'s current window (windows start at multiples of
        ``window`` since the epoch); allowed while the count is at most ``limit``."""
        ...

    async def prune(self, before: datetime) -> int:
        """Forget windows that started before ``before``; how many."""
        ...
