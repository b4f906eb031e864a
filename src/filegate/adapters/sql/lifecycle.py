"""Retention, deduplication, usage and reconciler queries over the ``files`` table.

One class for the ports :class:`~filegate.domain.ports.RetentionRepository`,
:class:`~filegate.domain.ports.DuplicateFinder`, :class:`~filegate.domain.ports.UsageLedger`
and :class:`~filegate.domain.ports.ReconcileQueries`, next to ``SqlRepository`` on the same
tables. Every public method runs in short transactions and raises ``BackendUnavailable``
for transient database failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, not_, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.sql.errors import translate_errors
from filegate.adapters.sql.repository import record_of
from filegate.adapters.sql.schema import files
from filegate.adapters.sql.usage import owners_after, read_usage, recount_owners
from filegate.domain.models import FileRecord
from filegate.domain.quotas import Usage
from filegate.domain.retention import Retention
from filegate.domain.states import FileState

_RECOUNT_PAGE = 500
_KEYS_PER_QUERY = 500


def due_clause(now: datetime) -> ColumnElement[bool]:
    """SQL for :func:`filegate.domain.retention.is_due` (state aside); never NULL."""
    deadline = files.c.retain_until
    return and_(files.c.pinned == false(), deadline.is_not(None), deadline <= now)


def retained_clause(now: datetime) -> ColumnElement[bool]:
    """SQL for :func:`filegate.domain.retention.is_retained`; never NULL."""
    deadline = files.c.retain_until
    return or_(files.c.pinned == true(), and_(deadline.is_not(None), deadline > now))


class SqlLifecycleRepository:
    """Retention deadlines, duplicate lookup, usage counters and reconciler pages in SQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def set_retention(
        self, file_id: str, expected_version: int, retention: Retention, now: datetime
    ) -> FileRecord | None:
        statement = (
            update(files)
            .where(
                files.c.id == file_id,
                files.c.version == expected_version,
                files.c.state != FileState.DELETED.value,
                not_(due_clause(now)),
            )
            .values(
                retain_until=retention.retain_until,
                pinned=retention.pinned,
                updated_at=now,
                version=files.c.version + 1,
            )
            .returning(*files.c)
        )
        async with translate_errors(), self._engine.begin() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else record_of(row)

    async def retention_due(self, now: datetime, limit: int) -> list[FileRecord]:
        query = (
            select(files)
            .where(files.c.state != FileState.DELETED.value, due_clause(now))
            .order_by(files.c.retain_until, files.c.id)
            .limit(limit)
        )
        return await self._records(query)

    async def ready_with_sha256(self, owner: str, sha256: str) -> FileRecord | None:
        query = (
            select(files)
            .where(
                files.c.owner == owner,
                files.c.sha256 == sha256,
                files.c.state == FileState.READY.value,
            )
            .order_by(files.c.created_at, files.c.id)
            .limit(1)
        )
        found = await self._records(query)
        return found[0] if found else None

    async def usage(self, owner: str) -> Usage:
        async with translate_errors(), self._engine.connect() as connection:
            return await read_usage(connection, owner)

    async def recount_usage(self) -> int:
        """A page of owners per transaction, so no lock is held for long."""
        wrong = 0
        after: str | None = None
        while True:
            async with translate_errors(), self._engine.begin() as connection:
                owners = await owners_after(connection, after, _RECOUNT_PAGE)
                wrong += await recount_owners(connection, owners)
            if len(owners) < _RECOUNT_PAGE:
                return wrong
            after = owners[-1]

    async def in_state(
        self, state: FileState, unchanged_since: datetime, after_id: str | None, limit: int
    ) -> list[FileRecord]:
        query = select(files).where(
            files.c.state == state.value, files.c.updated_at <= unchanged_since
        )
        if after_id is not None:
            query = query.where(files.c.id > after_id)
        return await self._records(query.order_by(files.c.id).limit(limit))

    async def states_by_key(self, object_keys: Sequence[str]) -> dict[str, FileState]:
        found: dict[str, FileState] = {}
        unique = sorted(set(object_keys))
        async with translate_errors(), self._engine.connect() as connection:
            for start in range(0, len(unique), _KEYS_PER_QUERY):
                chunk = unique[start : start + _KEYS_PER_QUERY]
                query = select(files.c.object_key, files.c.state).where(
                    files.c.object_key.in_(chunk)
                )
                for row in (await connection.execute(query)).all():
                    found[row.object_key] = FileState(row.state)
        return found

    async def _records(self, query: Select[Any]) -> list[FileRecord]:
        async with translate_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [record_of(row) for row in rows]
