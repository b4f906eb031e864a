"""``SweepClaims`` over the ``sweep_claims`` table: one conditional upsert per claim.

``INSERT … ON CONFLICT (name) DO UPDATE … WHERE next_due_at <= now + slack RETURNING``
inserts the first claim, moves a due one forward, and changes nothing (returns no row)
when another worker already holds this interval: atomic on SQLite and PostgreSQL alike.
Each claim is one write transaction of that one statement.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.dialects import postgresql, sqlite

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.schema import sweep_claims
from filegate.domain.ports import Clock
from filegate.domain.sweeps import claim_slack

_c = sweep_claims


class SqlSweepClaims:
    """Claims shared by every worker on the database."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._insert = postgresql.insert if database.is_postgres else sqlite.insert

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
        return await self._database.write(lambda c: c.execute(statement).first() is not None)
