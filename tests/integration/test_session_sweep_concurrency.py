"""Two purge sweeps racing on PostgreSQL hand each overdue purge out once.

Both sweeps take their snapshot while a third transaction holds the sessions' rows, so
both pick the same overdue sessions; the one that waits longer must recheck them after
the first has bumped their request time, and hand out none of them again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest

from filegate.adapters.sql.database import PostgresDatabase, open_database
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.domain.clock import ManualClock
from filegate.domain.sessions import GuestSession, SessionEnd

pytestmark = pytest.mark.postgres
NAMES = ["a", "b", "c"]
WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def test_racing_sweeps_hand_out_each_overdue_purge_once(postgres_url: str) -> None:
    database = open_database(postgres_url)
    assert isinstance(database, PostgresDatabase)
    repository = SqlSessionRepository(database)
    clock = ManualClock()
    for name in NAMES:
        now = clock.now()
        await repository.add(GuestSession(name, now, now + timedelta(hours=1)))
        await repository.end(name, SessionEnd.LOGOUT, now)
    clock.advance(timedelta(hours=1))
    now = clock.now()
    try:
        async with await psycopg.AsyncConnection.connect(postgres_url) as holder:
            await holder.execute("SELECT id FROM sessions FOR UPDATE")
            sweeps = [
                asyncio.create_task(repository.overdue_purges(now, now, 10)) for _ in range(2)
            ]
            while await _waiting_on_a_lock(postgres_url) < 2:
                await asyncio.sleep(0.01)
            await holder.commit()
        handed_out = [sorted(s.id for s in sweep) for sweep in await asyncio.gather(*sweeps)]
    finally:
        await database.dispose()

    assert sorted(handed_out) == [[], NAMES]


async def _waiting_on_a_lock(url: str) -> int:
    # A fresh transaction each time: PostgreSQL keeps one view of pg_stat_activity per
    # transaction.
    async with await psycopg.AsyncConnection.connect(url) as probe:
        row = await (await probe.execute(WAITING_ON_A_LOCK)).fetchone()
        return 0 if row is None else int(row[0])
