"""``GrantRepository`` over the ``upload_grants`` and ``grant_files`` tables.

Uses are taken in one transaction that locks the grant row first (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), so concurrent registrations
through one grant never take more uses than it has.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.sql.errors import is_unique_violation, translate_errors
from filegate.adapters.sql.schema import grant_files, upload_grants
from filegate.domain.grants import UploadGrant

_g = upload_grants


class SqlGrantRepository:
    """Upload grants in SQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, grant: UploadGrant) -> None:
        async with translate_errors():
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(insert(_g).values(_row_of(grant)))
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                raise ValueError(f"grant {grant.id} (or its code) exists") from exc

    async def get(self, grant_id: str) -> UploadGrant | None:
        async with translate_errors(), self._engine.connect() as connection:
            row = (await connection.execute(select(_g).where(_g.c.id == grant_id))).first()
        return None if row is None else grant_of(row)

    async def by_code(self, code: str) -> UploadGrant | None:
        async with translate_errors(), self._engine.connect() as connection:
            row = (await connection.execute(select(_g).where(_g.c.code == code))).first()
        return None if row is None else grant_of(row)

    async def take_uses(self, grant_id: str, wanted: int, now: datetime) -> int:
        if wanted <= 0:
            return 0
        locked = (
            select(_g.c.uses_left)
            .where(_g.c.id == grant_id, _g.c.revoked_at.is_(None), _g.c.expires_at > now)
            .with_for_update()
        )
        async with translate_errors(), self._engine.begin() as connection:
            left = (await connection.execute(locked)).scalar()
            taken = min(wanted, left or 0)
            if taken:
                await connection.execute(
                    update(_g).where(_g.c.id == grant_id).values(uses_left=_g.c.uses_left - taken)
                )
        return taken

    async def give_back(self, grant_id: str, count: int) -> None:
        if count <= 0:
            return
        returned = _g.c.uses_left + count
        capped = case((returned > _g.c.uses_total, _g.c.uses_total), else_=returned)
        statement = update(_g).where(_g.c.id == grant_id).values(uses_left=capped)
        async with translate_errors(), self._engine.begin() as connection:
            await connection.execute(statement)

    async def revoke(self, grant_id: str, owner: str, now: datetime) -> bool:
        owned = (_g.c.id == grant_id) & (_g.c.owner == owner)
        async with translate_errors(), self._engine.begin() as connection:
            found = (await connection.execute(select(_g.c.id).where(owned))).first()
            await connection.execute(
                update(_g).where(owned, _g.c.revoked_at.is_(None)).values(revoked_at=now)
            )
        return found is not None

    async def revoke_owned(self, owner: str, now: datetime) -> int:
        statement = (
            update(_g).where(_g.c.owner == owner, _g.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        async with translate_errors(), self._engine.begin() as connection:
            result = await connection.execute(statement)
        return result.rowcount

    async def link_file(self, grant_id: str, file_id: str) -> bool:
        async with translate_errors():
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(
                        insert(grant_files).values(grant_id=grant_id, file_id=file_id)
                    )
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                return False
        return True

    async def registered(self, grant_id: str, file_id: str) -> bool:
        query = select(grant_files.c.file_id).where(
            grant_files.c.grant_id == grant_id, grant_files.c.file_id == file_id
        )
        async with translate_errors(), self._engine.connect() as connection:
            return (await connection.execute(query)).first() is not None


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
