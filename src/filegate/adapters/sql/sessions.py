"""``SessionRepository`` and ``PurgeableFiles`` over the ``sessions`` and ``files`` tables.

Every public method is one transaction (:class:`~filegate.adapters.sql.database.Database`);
lookups are reads, which never take SQLite's write lock. A claim (session, files, history,
grants, and a recount of both owners' quota usage) is one write; its session row is locked
first (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers
anyway), so a claim never interleaves with an end of the same session.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, update

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.errors import insert_unique
from filegate.adapters.sql.events import Outbox
from filegate.adapters.sql.repository import record_of
from filegate.adapters.sql.schema import file_transitions, files, sessions, upload_grants
from filegate.adapters.sql.usage import recount_owners
from filegate.domain.models import Actor, FileRecord, TransitionReason
from filegate.domain.sessions import Claim, GuestSession, SessionEnd
from filegate.domain.states import FileState

_s = sessions


class SqlSessionRepository:
    """Guest sessions in SQL; also the ``PurgeableFiles`` query over ``files``."""

    def __init__(self, database: Database, outbox: Outbox | None = None) -> None:
        self._database = database
        self._outbox = outbox

    async def add(self, session: GuestSession) -> None:
        statement = insert(_s).values(_row_of(session))
        await insert_unique(self._database, statement, f"session {session.id} exists")

    async def get(self, session_id: str) -> GuestSession | None:
        query = select(_s).where(_s.c.id == session_id)
        row = await self._database.read(lambda c: c.execute(query).first())
        return None if row is None else session_of(row)

    async def end(self, session_id: str, reason: SessionEnd, now: datetime) -> GuestSession | None:
        statement = (
            update(_s)
            .where(_s.c.id == session_id, _s.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason.value, purge_requested_at=now)
            .returning(*_s.c)
        )
        outbox = self._outbox

        def end_session(connection: Connection) -> GuestSession | None:
            row = connection.execute(statement).first()
            if row is None:
                return None
            ended = session_of(row)
            if outbox is not None:
                outbox.session_ended(connection, ended, now)
            return ended

        ended = await self._database.write(end_session)
        self._committed(ended)
        return ended

    async def expired_open(self, now: datetime, limit: int) -> list[GuestSession]:
        query = (
            select(_s)
            .where(_s.c.ended_at.is_(None), _s.c.expires_at <= now)
            .order_by(_s.c.expires_at, _s.c.id)
            .limit(limit)
        )
        rows = await self._database.read(lambda c: c.execute(query).all())
        return [session_of(row) for row in rows]

    async def claim(self, session_id: str, user: str, now: datetime) -> Claim | None:
        claim = await self._database.write(
            partial(_claim, session_id=session_id, user=user, now=now, outbox=self._outbox)
        )
        self._committed(claim)
        return claim

    def _committed(self, outcome: object | None) -> None:
        if outcome is not None and self._outbox is not None:
            self._outbox.committed()

    async def overdue_purges(
        self, requested_before: datetime, now: datetime, limit: int
    ) -> list[GuestSession]:
        overdue = _overdue(requested_before)
        oldest = select(_s.c.id).where(*overdue).order_by(_s.c.purge_requested_at, _s.c.id)
        # The outer conditions are rechecked on rows a concurrent sweep changed meanwhile
        # (PostgreSQL), so two sweeps do not both request one purge.
        bumped = (
            update(_s)
            .where(_s.c.id.in_(oldest.limit(limit).scalar_subquery()), *overdue)
            .values(purge_requested_at=now)
            .returning(*_s.c)
        )
        rows = await self._database.write(lambda c: c.execute(bumped).all())
        return sorted((session_of(row) for row in rows), key=lambda s: s.id)

    async def mark_purged(self, session_id: str, now: datetime) -> None:
        statement = (
            update(_s).where(_s.c.id == session_id, _s.c.purged_at.is_(None)).values(purged_at=now)
        )
        await self._database.write(lambda c: c.execute(statement))

    async def purgeable_files(self, owner: str, now: datetime, limit: int) -> list[FileRecord]:
        """Retained files (see :mod:`filegate.domain.retention`) are left out: a pinned file,
        or one whose ``retain_until`` is after ``now``, outlives its session."""
        not_retained = and_(
            files.c.pinned.is_(False),
            or_(files.c.retain_until.is_(None), files.c.retain_until <= now),
        )
        query = (
            select(files)
            .where(
                files.c.owner == owner,
                files.c.state != FileState.DELETED.value,
                not_retained,
            )
            .order_by(files.c.created_at, files.c.id)
            .limit(limit)
        )
        rows = await self._database.read(lambda c: c.execute(query).all())
        return [record_of(row) for row in rows]


def _overdue(requested_before: datetime) -> tuple[Any, ...]:
    return (
        _s.c.purged_at.is_(None),
        _s.c.purge_requested_at < requested_before,
        _s.c.end_reason != SessionEnd.CLAIMED.value,
    )


def _claim(
    connection: Connection, *, session_id: str, user: str, now: datetime, outbox: Outbox | None
) -> Claim | None:
    """The claim, with its event when this call claimed the session (a repeated claim by
    the same user moves what is left and records nothing)."""
    locked = select(_s).where(_s.c.id == session_id).with_for_update()
    row = connection.execute(locked).first()
    if row is None or not _claimable(session := session_of(row), user, now):
        return None
    claimed = _mark_claimed(connection, session, user, now)
    owner = claimed.owner.key
    moved = _move_files(connection, owner, user, now)
    recount_owners(connection, [owner, user])
    connection.execute(
        update(upload_grants).where(upload_grants.c.owner == owner).values(owner=user)
    )
    claim = Claim(claimed, moved)
    if outbox is not None and session.ended_at is None:
        outbox.session_claimed(connection, claim, now)
    return claim


def _claimable(session: GuestSession, user: str, now: datetime) -> bool:
    if session.is_live(now):
        return True
    return session.end_reason is SessionEnd.CLAIMED and session.claimed_by == user


def _mark_claimed(
    connection: Connection, session: GuestSession, user: str, now: datetime
) -> GuestSession:
    """End the (locked) session as claimed by ``user``; one already claimed keeps its end
    time."""
    if session.ended_at is not None:
        return session
    statement = (
        update(_s)
        .where(_s.c.id == session.id)
        .values(ended_at=now, end_reason=SessionEnd.CLAIMED.value, claimed_by=user)
        .returning(*_s.c)
    )
    return session_of(connection.execute(statement).one())


def _move_files(connection: Connection, owner: str, user: str, now: datetime) -> tuple[str, ...]:
    """Give every file of ``owner`` to ``user``, with one history row per file.

    Idempotency keys are cleared: they were the session's, and could collide with the
    user's own keys under the ``(owner, idempotency_key)`` unique constraint.
    """
    moved = connection.execute(
        update(files)
        .where(files.c.owner == owner)
        .values(owner=user, idempotency_key=None, updated_at=now, version=files.c.version + 1)
        .returning(files.c.id, files.c.state)
    ).all()
    if not moved:
        return ()
    rows = sorted(moved, key=lambda row: row.id)
    connection.execute(
        insert(file_transitions), [_claimed_step(row.id, row.state, now) for row in rows]
    )
    return tuple(row.id for row in rows)


def _claimed_step(file_id: str, state: str, now: datetime) -> dict[str, Any]:
    return {
        "file_id": file_id,
        "from_state": state,
        "to_state": state,
        "reason": TransitionReason.CLAIMED.value,
        "actor": Actor.API.value,
        "at": now,
    }


def session_of(row: Row[Any]) -> GuestSession:
    """The ``GuestSession`` of a ``sessions`` row."""
    values = row._mapping
    reason = values["end_reason"]
    return GuestSession(
        id=values["id"],
        created_at=values["created_at"],
        expires_at=values["expires_at"],
        ended_at=values["ended_at"],
        end_reason=SessionEnd(reason) if reason is not None else None,
        claimed_by=values["claimed_by"],
        client_hash=values["client_hash"],
        purge_requested_at=values["purge_requested_at"],
        purged_at=values["purged_at"],
    )


def _row_of(session: GuestSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "ended_at": session.ended_at,
        "end_reason": session.end_reason.value if session.end_reason else None,
        "claimed_by": session.claimed_by,
        "client_hash": session.client_hash,
        "purge_requested_at": session.purge_requested_at,
        "purged_at": session.purged_at,
    }
