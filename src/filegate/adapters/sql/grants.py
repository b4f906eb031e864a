"""``GrantRepository`` over the ``upload_grants`` and ``grant_files`` tables.

Every public method is one transaction (:class:`~filegate.adapters.sql.database.Database`);
lookups are reads, which never take SQLite's write lock. Uses are taken by a conditional
``UPDATE`` that rechecks the grant's row under its lock (PostgreSQL re-evaluates the
condition on the row it waited for; SQLite's ``BEGIN IMMEDIATE`` serialises writers), so
concurrent registrations through one grant never take more uses than it has.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Row, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.errors import insert_unique
from filegate.adapters.sql.schema import grant_files, upload_grants
from filegate.domain.grants import UploadGrant

_g = upload_grants


class SqlGrantRepository:
    """Upload grants in SQL."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._insert = postgresql.insert if database.is_postgres else sqlite.insert

    async def add(self, grant: UploadGrant) -> None:
        statement = insert(_g).values(_row_of(grant))
        await insert_unique(self._database, statement, f"grant {grant.id} (or its code) exists")

    async def get(self, grant_id: str) -> UploadGrant | None:
        return await self._database.read(partial(_one_grant, where=_g.c.id == grant_id))

    async def by_code(self, code: str) -> UploadGrant | None:
        return await self._database.read(partial(_one_grant, where=_g.c.code == code))

    async def take_uses(self, grant_id: str, wanted: int, now: datetime) -> int:
        if wanted <= 0:
            return 0
        return await self._database.write(
            partial(_take_uses, grant_id=grant_id, wanted=wanted, now=now)
        )

    async def give_back(self, grant_id: str, count: int) -> None:
        if count <= 0:
            return
        returned = _g.c.uses_left + count
        capped = case((returned > _g.c.uses_total, _g.c.uses_total), else_=returned)
        statement = update(_g).where(_g.c.id == grant_id).values(uses_left=capped)
        await self._database.write(lambda connection: connection.execute(statement))

    async def revoke(self, grant_id: str, owner: str, now: datetime) -> bool:
        # Setting a revoked grant's time to itself: one statement tells "found" apart.
        statement = (
            update(_g)
            .where(_g.c.id == grant_id, _g.c.owner == owner)
            .values(revoked_at=func.coalesce(_g.c.revoked_at, now))
            .returning(_g.c.id)
        )
        found = await self._database.write(lambda c: c.execute(statement).first())
        return found is not None

    async def revoke_owned(self, owner: str, now: datetime) -> int:
        statement = (
            update(_g).where(_g.c.owner == owner, _g.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        return await self._database.write(lambda c: c.execute(statement).rowcount)

    async def link_file(self, grant_id: str, file_id: str) -> bool:
        statement = (
            self._insert(grant_files)
            .values(grant_id=grant_id, file_id=file_id)
            .on_conflict_do_nothing(index_elements=[grant_files.c.grant_id, grant_files.c.file_id])
            .returning(grant_files.c.file_id)
        )
        linked = await self._database.write(lambda c: c.execute(statement).first())
        return linked is not None

    async def registered(self, grant_id: str, file_id: str) -> bool:
        query = select(grant_files.c.file_id).where(
            grant_files.c.grant_id == grant_id, grant_files.c.file_id == file_id
        )
        return await self._database.read(lambda c: c.execute(query).first() is not None)


def _one_grant(connection: Connection, *, where: Any) -> UploadGrant | None:
    row = connection.execute(select(_g).where(where)).first()
    return None if row is None else grant_of(row)


def _take_uses(connection: Connection, *, grant_id: str, wanted: int, now: datetime) -> int:
    """All ``wanted`` uses in one statement when the grant has them (the usual case);
    otherwise the rest it has, read under its row lock."""
    usable = (_g.c.id == grant_id, _g.c.revoked_at.is_(None), _g.c.expires_at > now)
    enough = (
        update(_g)
        .where(*usable, _g.c.uses_left >= wanted)
        .values(uses_left=_g.c.uses_left - wanted)
        .returning(_g.c.id)
    )
    if connection.execute(enough).first() is not None:
        return wanted
    locked = select(_g.c.uses_left).where(*usable).with_for_update()
    taken = min(wanted, connection.execute(locked).scalar() or 0)
    if taken:
        connection.execute(
            update(_g).where(_g.c.id == grant_id).values(uses_left=_g.c.uses_left - taken)
        )
    return taken


def grant_of(row: Row[Any]) -> UploadGrant:
    """The ``UploadGrant`` of an ``upload_grants`` row."""
    values = row._mapping
    return UploadGrant(
        id=values["id"],
        owner=values["owner"],
        created_at=values["created_at"],
        expires_at=values["expires_at"],
        uses_total=values["uses_total"],
        uses_left=values["uses_left"],
        revoked_at=values["revoked_at"],
        code=values["code"],
    )


def _row_of(grant: UploadGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "owner": grant.owner,
        "created_at": grant.created_at,
        "expires_at": grant.expires_at,
        "uses_total": grant.uses_total,
        "uses_left": grant.uses_left,
        "revoked_at": grant.revoked_at,
        "code": grant.code,
    }
