"""In-memory fakes of the session, grant and rate-limit ports (same contracts as SQL).

A claim moves files inside a :class:`MemoryRepository`, so the session fake is built over
that repository (and the grant fake, whose grants a claim moves too).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from filegate.adapters.memory.repository import MemoryRepository
from filegate.domain.grants import UploadGrant
from filegate.domain.models import Actor, FileRecord, Transition, TransitionReason
from filegate.domain.retention import is_retained
from filegate.domain.sessions import Claim, GuestSession, RateDecision, SessionEnd, window_start
from filegate.domain.states import FileState


class MemoryGrantRepository:
    """A ``GrantRepository`` in dicts."""

    def __init__(self) -> None:
        self.grants: dict[str, UploadGrant] = {}
        self._links: set[tuple[str, str]] = set()

    async def add(self, grant: UploadGrant) -> None:
        if grant.id in self.grants or any(
            grant.code is not None and g.code == grant.code for g in self.grants.values()
        ):
            raise ValueError(f"grant {grant.id} exists")
        self.grants[grant.id] = grant

    async def get(self, grant_id: str) -> UploadGrant | None:
        return self.grants.get(grant_id)

    async def by_code(self, code: str) -> UploadGrant | None:
        return next((g for g in self.grants.values() if g.code == code), None)

    async def take_uses(self, grant_id: str, wanted: int, now: datetime) -> int:
        grant = self.grants.get(grant_id)
        if grant is None or wanted <= 0 or not grant.is_usable(now):
            return 0
        taken = min(wanted, grant.uses_left)
        self.grants[grant_id] = dataclasses.replace(grant, uses_left=grant.uses_left - taken)
        return taken

    async def give_back(self, grant_id: str, count: int) -> None:
        grant = self.grants.get(grant_id)
        if grant is not None and count > 0:
            left = min(grant.uses_total, grant.uses_left + count)
            self.grants[grant_id] = dataclasses.replace(grant, uses_left=left)

    async def revoke(self, grant_id: str, owner: str, now: datetime) -> bool:
        grant = self.grants.get(grant_id)
        if grant is None or grant.owner != owner:
            return False
        if grant.revoked_at is None:
            self.grants[grant_id] = dataclasses.replace(grant, revoked_at=now)
        return True

    async def revoke_owned(self, owner: str, now: datetime) -> int:
        revoked = [g for g in self.grants.values() if g.owner == owner and g.revoked_at is None]
        for grant in revoked:
            self.grants[grant.id] = dataclasses.replace(grant, revoked_at=now)
        return len(revoked)

    async def link_file(self, grant_id: str, file_id: str) -> bool:
        if (grant_id, file_id) in self._links:
            return False
        self._links.add((grant_id, file_id))
        return True

    async def registered(self, grant_id: str, file_id: str) -> bool:
        return (grant_id, file_id) in self._links

    def give_owned(self, owner: str, to: str) -> None:
        """Move every grant of ``owner`` to ``to`` (what a claim does)."""
        for grant in [g for g in self.grants.values() if g.owner == owner]:
            self.grants[grant.id] = dataclasses.replace(grant, owner=to)


class MemorySessionRepository:
    """A ``SessionRepository`` and ``PurgeableFiles`` over a :class:`MemoryRepository`."""

    def __init__(self, files: MemoryRepository, grants: MemoryGrantRepository) -> None:
        self._files = files
        self._grants = grants
        self.sessions: dict[str, GuestSession] = {}

    async def add(self, session: GuestSession) -> None:
        if session.id in self.sessions:
            raise ValueError(f"session {session.id} exists")
        self.sessions[session.id] = session

    async def get(self, session_id: str) -> GuestSession | None:
        return self.sessions.get(session_id)

    async def end(self, session_id: str, reason: SessionEnd, now: datetime) -> GuestSession | None:
        session = self.sessions.get(session_id)
        if session is None or session.ended_at is not None:
            return None
        ended = dataclasses.replace(
            session, ended_at=now, end_reason=reason, purge_requested_at=now
        )
        self.sessions[session_id] = ended
        return ended

    async def expired_open(self, now: datetime, limit: int) -> list[GuestSession]:
        due = [s for s in self.sessions.values() if s.ended_at is None and s.expires_at <= now]
        return sorted(due, key=lambda s: (s.expires_at, s.id))[:limit]

    async def claim(self, session_id: str, user: str, now: datetime) -> Claim | None:
        session = self.sessions.get(session_id)
        if session is None or not _claimable(session, user, now):
            return None
        if session.ended_at is None:
            session = dataclasses.replace(
                session, ended_at=now, end_reason=SessionEnd.CLAIMED, claimed_by=user
            )
            self.sessions[session_id] = session
        moved = self._move_files(session.owner.key, user, now)
        self._grants.give_owned(session.owner.key, user)
        return Claim(session, moved)

    async def overdue_purges(
        self, requested_before: datetime, now: datetime, limit: int
    ) -> list[GuestSession]:
        overdue = sorted(
            (s for s in self.sessions.values() if _purge_overdue(s, requested_before)),
            key=lambda s: (s.purge_requested_at, s.id),
        )[:limit]
        bumped = [dataclasses.replace(s, purge_requested_at=now) for s in overdue]
        self.sessions.update((s.id, s) for s in bumped)
        return sorted(bumped, key=lambda s: s.id)

    async def mark_purged(self, session_id: str, now: datetime) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.purged_at is None:
            self.sessions[session_id] = dataclasses.replace(session, purged_at=now)

    async def purgeable_files(self, owner: str, now: datetime, limit: int) -> list[FileRecord]:
        alive = [
            f
            for f in self._files._files.values()
            if f.owner == owner and f.state is not FileState.DELETED and not is_retained(f, now)
        ]
        return sorted(alive, key=lambda f: (f.created_at, f.id))[:limit]

    def _move_files(self, owner: str, user: str, now: datetime) -> tuple[str, ...]:
        # The fake reaches into the file fake's storage: moving owners is no file port.
        repository = self._files
        moved = sorted(f.id for f in repository._files.values() if f.owner == owner)
        for file_id in moved:
            record = repository._files[file_id]
            repository._files[file_id] = dataclasses.replace(
                record, owner=user, updated_at=now, version=record.version + 1
            )
            repository._history.append(
                Transition(
                    file_id,
                    record.state,
                    record.state,
                    TransitionReason.CLAIMED.value,
                    Actor.API.value,
                    now,
                )
            )
        repository._idempotency = {
            k: v for k, v in repository._idempotency.items() if v not in moved
        }
        return tuple(moved)


def _claimable(session: GuestSession, user: str, now: datetime) -> bool:
    if session.is_live(now):
        return True
    return session.end_reason is SessionEnd.CLAIMED and session.claimed_by == user


def _purge_overdue(session: GuestSession, requested_before: datetime) -> bool:
    requested = session.purge_requested_at
    return (
        session.purged_at is None
        and session.end_reason is not SessionEnd.CLAIMED
        and requested is not None
        and requested < requested_before
    )


class MemoryRateLimiter:
    """A ``RateLimiter`` in a dict (one process only, unlike the SQL one)."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, datetime], int] = {}

    async def hit(self, bucket: str, limit: int, window: timedelta, now: datetime) -> RateDecision:
        start = window_start(now, window)
        hits = self.windows.get((bucket, start), 0) + 1
        self.windows[bucket, start] = hits
        allowed = hits <= limit
        return RateDecision(allowed, timedelta(0) if allowed else start + window - now, hits)

    async def prune(self, before: datetime) -> int:
        old = [key for key in self.windows if key[1] < before]
        for key in old:
            del self.windows[key]
        return len(old)
