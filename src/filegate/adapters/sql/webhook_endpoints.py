"""``EndpointStates`` over the ``webhook_endpoints`` table: which endpoints answered 410
Gone and were disabled, shared by every worker. One upsert per change, atomic on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.schema import webhook_endpoints

_e = webhook_endpoints


class SqlEndpointStates:
    """Counts 410s in a row per endpoint and disables it at the threshold."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._insert = postgresql.insert if database.is_postgres else sqlite.insert

    async def disabled(self) -> dict[str, datetime]:
        query = select(_e.c.name, _e.c.disabled_at).where(_e.c.disabled_at.is_not(None))
        rows = await self._database.read(lambda c: c.execute(query).all())
        return {row.name: row.disabled_at for row in rows}

    async def record_gone(self, name: str, now: datetime, threshold: int) -> bool:
        count = _e.c.gone_in_a_row + 1
        upsert = self._insert(_e).values(
            name=name, gone_in_a_row=1, disabled_at=now if threshold <= 1 else None
        )
        statement = upsert.on_conflict_do_update(
            index_elements=[_e.c.name],
            set_={
                "gone_in_a_row": count,
                "disabled_at": case(
                    (_e.c.disabled_at.is_not(None), _e.c.disabled_at),
                    (count >= threshold, now),
                    else_=None,
                ),
            },
        ).returning(_e.c.gone_in_a_row, _e.c.disabled_at)
        row = await self._database.write(lambda c: c.execute(statement).one())
        return bool(row.disabled_at == now and row.gone_in_a_row >= threshold)

    async def record_delivered(self, name: str) -> None:
        statement = (
            update(_e).where(_e.c.name == name, _e.c.gone_in_a_row > 0).values(gone_in_a_row=0)
        )
        await self._database.write(lambda c: c.execute(statement))

    async def enable(self, name: str) -> bool:
        statement = (
            update(_e)
            .where(_e.c.name == name, _e.c.disabled_at.is_not(None))
            .values(disabled_at=None, gone_in_a_row=0)
        )
        result = await self._database.write(lambda c: c.execute(statement))
        return bool(result.rowcount)
