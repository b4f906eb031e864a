"""Two purge sweeps racing on PostgreSQL hand each overdue purge out once.

Both sweeps take their snapshot while a third transaction holds the sessions' rows, so
both pick the same overdue sessions; the one that waits longer must recheck them after
the first has bumped their request time, and hand out none of them again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from filegate.adapters.sql.database import PostgresDatabase, open_database
from filegate.adapters.sql.schema import sessions
from filegate.adapters.sql.sessions import SqlSessionRepository
from filegate.domain.clock import ManualClock
from filegate.domain.sessions import GuestSession, SessionEnd

pytestmark = pytest.mark.postgres
NAMES = ["a", "b", "c"]
WAITING_ON_A_LOCK = text(
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
        async with database.engine.connect() as holder:
            await holder.execute(select(sessions.c.id).with_for_update())
            sweeps = [
                asyncio.create_task(repository.overdue_purges(now, now, 10)) for _ in range(2)
            ]
            while await _waiting_on_a_lock(database) < 2:
                await asyncio.sleep(0.01)
            await holder.commit()
        handed_out = [sorted(s.id for s in sweep) for sweep in await asyncio.gather(*sweeps)]
    finally:
        await database.dispose()

    assert sorted(handed_out) == [[], NAMES]


async def _waiting_on_a_lock(database: PostgresDatabase) -> int:
    # A fresh transaction each time: PostgreSQL keeps one view of pg_stat_activity per
    # transaction.
    async with database.engine.connect() as probe:
        return int((await probe.execute(WAITING_ON_A_LOCK)).scalar_one())
