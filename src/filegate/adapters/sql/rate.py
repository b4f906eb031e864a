"""``RateLimiter`` over the ``rate_windows`` table: fixed windows shared by every process.

One hit is one write transaction of one upsert (``INSERT … ON CONFLICT DO UPDATE SET hits =
hits + 1 RETURNING``), atomic on SQLite and PostgreSQL alike, so API processes behind a
load balancer share limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from filegate.adapters.sql.database import Database
from filegate.adapters.sql.schema import rate_windows
from filegate.domain.sessions import RateDecision, window_start

_w = rate_windows


class SqlRateLimiter:
    """Fixed-window counters per bucket."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._insert = postgresql.insert if database.is_postgres else sqlite.insert

    async def hit(self, bucket: str, limit: int, window: timedelta, now: datetime) -> RateDecision:
        start = window_start(now, window)
        upsert = self._insert(_w).values(bucket=bucket, window_start=start, hits=1)
        statement = upsert.on_conflict_do_update(
            index_elements=[_w.c.bucket, _w.c.window_start], set_={"hits": _w.c.hits + 1}
        ).returning(_w.c.hits)
        hits: int = await self._database.write(lambda c: c.execute(statement).scalar_one())
        allowed = hits <= limit
        retry_after = timedelta(0) if allowed else start + window - now
        return RateDecision(allowed, retry_after, hits)

    async def prune(self, before: datetime) -> int:
        statement = delete(_w).where(_w.c.window_start < before)
        return await self._database.write(lambda c: c.execute(statement).rowcount)
