"""``SweepClaims`` over the ``sweep_claims`` table: one conditional upsert per claim.

``INSERT … ON CONFLICT (name) DO UPDATE … WHERE next_due_at <= now + slack RETURNING``
inserts the first claim, moves a due one forward, and changes nothing (returns no row)
when another worker already holds this interval: atomic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from filegate.adapters.sql.errors import translate_errors
from filegate.adapters.sql.schema import sweep_claims
from filegate.domain.ports import Clock
from filegate.domain.sweeps import claim_slack

_c = sweep_claims


class SqlSweepClaims:
    """Claims shared by every worker on the database."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def claim(self, name: str, interval: timedelta, worker: str) -> bool:
        now = self._clock.now()
        values = {"next_due_at": now + interval, "claimed_by": worker, "claimed_at": now}
        statement = (
            self._insert(_c)
            .values(name=name, **values)
            .on_conflict_do_update(
                index_elements=[_c.c.name],
                set_=values,
                where=_c.c.next_due_at <= now + claim_slack(interval),
            )
            .returning(_c.c.name)
        )
        async with translate_errors(), self._engine.begin() as connection:
            return (await connection.execute(statement)).first() is not None
