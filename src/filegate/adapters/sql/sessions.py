"""``SessionRepository`` and ``PurgeableFiles`` over the ``sessions`` and ``files`` tables.

Every public method runs in one short transaction and raises ``BackendUnavailable`` for
transient database failures. A claim (session, files, history, grants, and a recount of
both owners' quota usage) is one transaction; its session row is locked first (``FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway), so a claim
never interleaves with an end of the same session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from filegate.adapters.sql.errors import is_unique_violation, translate_errors
from filegate.adapters.sql.repository import record_of
from filegate.adapters.sql.schema import file_transitions, files, sessions, upload_grants
from filegate.adapters.sql.usage import recount_owners
from filegate.domain.models import Actor, FileRecord, TransitionReason
from filegate.domain.sessions import Claim, GuestSession, SessionEnd
from filegate.domain.states import FileState

_s = sessions


class SqlSessionRepository:
    """Guest sessions in SQL; also the ``PurgeableFiles`` query over ``files``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, session: GuestSession) -> None:
        async with translate_errors():
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(insert(_s).values(_row_of(session)))
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                raise ValueError(f"session {session.id} exists") from exc

    async def get(self, session_id: str) -> GuestSession | None:
        async with translate_errors(), self._engine.connect() as connection:
            row = (await connection.execute(select(_s).where(_s.c.id == session_id))).first()
        return None if row is None else session_of(row)

    async def end(self, session_id: str, reason: SessionEnd, now: datetime) -> GuestSession | None:
        statement = (
            update(_s)
            .where(_s.c.id == session_id, _s.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason.value, purge_requested_at=now)
            .returning(*_s.c)
        )
        async with translate_errors(), self._engine.begin() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else session_of(row)

    async def expired_open(self, now: datetime, limit: int) -> list[GuestSession]:
        query = (
            select(_s)
            .where(_s.c.ended_at.is_(None), _s.c.expires_at <= now)
            .order_by(_s.c.expires_at, _s.c.id)
            .limit(limit)
        )
        async with translate_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [session_of(row) for row in rows]

    async def claim(self, session_id: str, user: str, now: datetime) -> Claim | None:
        async with translate_errors(), self._engine.begin() as connection:
            locked = select(_s).where(_s.c.id == session_id).with_for_update()
            row = (await connection.execute(locked)).first()
            if row is None or not _claimable(session_of(row), user, now):
                return None
            claimed = await _mark_claimed(connection, session_id, user, now)
            owner = claimed.owner.key
            moved = await _move_files(connection, owner, user, now)
            await recount_owners(connection, [owner, user])
            await connection.execute(
                update(upload_grants).where(upload_grants.c.owner == owner).values(owner=user)
            )
        return Claim(claimed, moved)

    async def overdue_purges(
        self, requested_before: datetime, now: datetime, limit: int
    ) -> list[GuestSession]:
        overdue = (
            select(_s.c.id)
            .where(
                _s.c.purged_at.is_(None),
                _s.c.purge_requested_at < requested_before,
                _s.c.end_reason != SessionEnd.CLAIMED.value,
            )
            .order_by(_s.c.purge_requested_at, _s.c.id)
            .limit(limit)
        )
        async with translate_errors(), self._engine.begin() as connection:
            ids = [row.id for row in (await connection.execute(overdue)).all()]
            if not ids:
                return []
            bumped = (
                update(_s)
                .where(_s.c.id.in_(ids), _s.c.purged_at.is_(None))
                .values(purge_requested_at=now)
                .returning(*_s.c)
            )
            rows = (await connection.execute(bumped)).all()
        return sorted((session_of(row) for row in rows), key=lambda s: s.id)

    async def mark_purged(self, session_id: str, now: datetime) -> None:
        statement = (
            update(_s).where(_s.c.id == session_id, _s.c.purged_at.is_(None)).values(purged_at=now)
        )
        async with translate_errors(), self._engine.begin() as connection:
            await connection.execute(statement)

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
        async with translate_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [record_of(row) for row in rows]


def _claimable(session: GuestSession, user: str, now: datetime) -> bool:
    if session.is_live(now):
        return True
    return session.end_reason is SessionEnd.CLAIMED and session.claimed_by == user


async def _mark_claimed(
    connection: AsyncConnection, session_id: str, user: str, now: datetime
) -> GuestSession:
    """End the session as claimed by ``user``; a session already claimed keeps its end time."""
    statement = (
        update(_s)
        .where(_s.c.id == session_id, _s.c.ended_at.is_(None))
        .values(ended_at=now, end_reason=SessionEnd.CLAIMED.value, claimed_by=user)
    )
    await connection.execute(statement)
    row = (await connection.execute(select(_s).where(_s.c.id == session_id))).one()
    return session_of(row)


async def _move_files(
    connection: AsyncConnection, owner: str, user: str, now: datetime
) -> tuple[str, ...]:
    """Give every file of ``owner`` to ``user``, with one history row per file.

    Idempotency keys are cleared: they were the session's, and could collide with the
    user's own keys under the ``(owner, idempotency_key)`` unique constraint.
    """
    query = select(files.c.id, files.c.state).where(files.c.owner == owner).order_by(files.c.id)
    rows = (await connection.execute(query)).all()
    if not rows:
        return ()
    await connection.execute(
        update(files)
        .where(files.c.owner == owner)
        .values(owner=user, idempotency_key=None, updated_at=now, version=files.c.version + 1)
    )
    await connection.execute(
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
