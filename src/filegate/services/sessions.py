"""Guest sessions: opening one (rate-limited per client), logging out, claiming one."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.domain.messages import encode_owner_purge
from filegate.domain.models import Owner
from filegate.domain.ports import Clock, GrantRepository, Queue, RateLimiter, SessionRepository
from filegate.domain.sessions import Claim, GuestSession, OwnerPurge, SessionEnd

RATE_WINDOW = timedelta(minutes=1)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live and how many one client address may open per minute."""

    ttl: timedelta
    rate_per_minute: int
    """0 turns the limit off."""


def new_session_id() -> str:
    """An unguessable id (128 random bits)."""
    return secrets.token_hex(16)


def whole_seconds(at: datetime) -> datetime:
    """``at`` without its fraction of a second (token times are whole seconds)."""
    return at.replace(microsecond=0)


class SessionEnder:
    """Ends sessions and requests the purge of their files: what logout and expiry share."""

    def __init__(self, sessions: SessionRepository, grants: GrantRepository, queue: Queue) -> None:
        self._sessions = sessions
        self._grants = grants
        self._queue = queue

    async def end(self, session_id: str, reason: SessionEnd, now: datetime) -> bool:
        """End the session, revoke its grants and enqueue the purge of its files.

        ``False`` when it had already ended (whoever ended it requested the purge). Once
        the session has ended, a backend failure in what follows is logged, not raised:
        its grants stop working with it anyway (they are checked against their session),
        and the sweep requests a lost purge again (``SessionRepository.overdue_purges``).
        """
        ended = await self._sessions.end(session_id, reason, now)
        if ended is None:
            return False
        try:
            await self._grants.revoke_owned(ended.owner.key, now)
            await self.request_purges([ended])
        except BackendUnavailable:
            log.warning("session %s ended; its purge will be requested again", session_id)
        return True

    async def request_purges(self, ended: list[GuestSession]) -> None:
        """Enqueue one purge message per session."""
        if ended:
            await self._queue.send_batch(
                [encode_owner_purge(OwnerPurge(s.owner.key)) for s in ended]
            )


class SessionService:
    """Opens, ends and hands over guest sessions."""

    def __init__(
        self,
        sessions: SessionRepository,
        ender: SessionEnder,
        limiter: RateLimiter,
        clock: Clock,
        policy: SessionPolicy,
        address_key: bytes,
    ) -> None:
        self._sessions = sessions
        self._ender = ender
        self._limiter = limiter
        self._clock = clock
        self._policy = policy
        self._address_key = address_key

    async def open(self, client_address: str | None) -> GuestSession:
        """A new session expiring after the policy's TTL.

        Raises RATE_LIMITED (with ``retry_after`` seconds) when this client address has
        opened its quota of sessions in the current minute.
        """
        client_hash = self._hash_address(client_address or "unknown")
        now = whole_seconds(self._clock.now())
        await self._check_rate(client_hash, now)
        session = GuestSession(
            id=new_session_id(),
            created_at=now,
            expires_at=now + self._policy.ttl,
            client_hash=client_hash,
        )
        await self._sessions.add(session)
        return session

    async def logout(self, session_id: str) -> None:
        """End the session now; its files are deleted through the queue."""
        await self._ender.end(session_id, SessionEnd.LOGOUT, self._clock.now())

    async def claim(self, session_id: str, user: Owner) -> Claim:
        """Hand the session's files (and grants) to ``user``; the session ends.

        SESSION_NOT_FOUND unless the session is live, or was claimed by ``user`` before
        (a retried claim moves what arrived since).
        """
        claim = await self._sessions.claim(session_id, user.key, self._clock.now())
        if claim is None:
            raise FilegateError(ErrorCode.SESSION_NOT_FOUND, "No such session to claim.")
        return claim

    async def _check_rate(self, client_hash: str, now: datetime) -> None:
        limit = self._policy.rate_per_minute
        if limit <= 0:
            return
        decision = await self._limiter.hit(f"sessions:{client_hash}", limit, RATE_WINDOW, now)
        if not decision.allowed:
            retry_after = max(1, math.ceil(decision.retry_after.total_seconds()))
            raise FilegateError(
                ErrorCode.RATE_LIMITED,
                f"At most {limit} sessions per minute from one address; retry later.",
                {"limit": limit, "retry_after": retry_after},
            )

    def _hash_address(self, address: str) -> str:
        # Keyed, so the stored hash cannot be reversed by hashing every IPv4 address.
        return hmac.new(self._address_key, address.encode(), hashlib.sha256).hexdigest()[:32]
