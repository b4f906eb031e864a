"""Retention, deduplication, usage and reconciler queries over the ``files`` table.

One class for the ports :class:`~filegate.domain.ports.RetentionRepository`,
:class:`~filegate.domain.ports.UsageLedger`
and :class:`~filegate.domain.ports.ReconcileQueries`, next to ``SqlRepository`` on the same
tables. Every public method is one transaction
(:class:`~filegate.adapters.sql.database.Database`; queries are reads, which never take
SQLite's write lock), but for the usage recount: one write per page of owners.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    false,
    not_,
    or_,
    select,
    true,
    update,
)

from filegate.adapters.sql.database import Database
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

    def __init__(self, database: Database) -> None:
        self._database = database

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
        row = await self._database.write(lambda c: c.execute(statement).first())
        return None if row is None else record_of(row)

    async def retention_due(self, now: datetime, limit: int) -> list[FileRecord]:
        query = (
            select(files)
            .where(files.c.state != FileState.DELETED.value, due_clause(now))
            .order_by(files.c.retain_until, files.c.id)
            .limit(limit)
        )
        return await self._records(query)

    async def usage(self, owner: str) -> Usage:
        return await self._database.read(lambda c: read_usage(c, owner))

    async def recount_usage(self) -> int:
        """A page of owners per transaction, so no lock is held for long."""
        wrong = 0
        after: str | None = None
        while True:
            owners, wrong_here = await self._database.write(partial(_recount_page, after=after))
            wrong += wrong_here
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
        return await self._database.read(partial(_states_by_key, object_keys=object_keys))

    async def _records(self, query: Select[Any]) -> list[FileRecord]:
        rows = await self._database.read(lambda c: c.execute(query).all())
        return [record_of(row) for row in rows]


def _recount_page(connection: Connection, *, after: str | None) -> tuple[list[str], int]:
    """The next page of owners after ``after``, and how many of them were wrong."""
    owners = owners_after(connection, after, _RECOUNT_PAGE)
    return owners, recount_owners(connection, owners)


def _states_by_key(connection: Connection, *, object_keys: Sequence[str]) -> dict[str, FileState]:
    found: dict[str, FileState] = {}
    unique = sorted(set(object_keys))
    for start in range(0, len(unique), _KEYS_PER_QUERY):
        chunk = unique[start : start + _KEYS_PER_QUERY]
        query = select(files.c.object_key, files.c.state).where(files.c.object_key.in_(chunk))
        for row in connection.execute(query).all():
            found[row.object_key] = FileState(row.state)
    return found
