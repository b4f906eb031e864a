"""``Database``: one transaction per call, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Insert, func, insert, select
from sqlalchemy.exc import IntegrityError

from filegate.adapters.sql.database import Database, SqliteDatabase, Work, open_database
from filegate.adapters.sql.schema import rate_windows
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = ManualClock().now()


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    database = open_database(request.getfixturevalue(f"{request.param}_url"))
    yield database
    await database.dispose()


def _hit(bucket: str) -> Insert:
    return insert(rate_windows).values(bucket=bucket, window_start=NOW, hits=1)


def _buckets(connection: Connection) -> list[str]:
    rows = connection.execute(select(rate_windows.c.bucket).order_by(rate_windows.c.bucket))
    return list(rows.scalars())


async def test_a_write_commits_when_its_work_returns(database: Database) -> None:
    await database.write(lambda c: c.execute(_hit("a")))
    assert await database.read(_buckets) == ["a"]


async def test_a_write_whose_work_raises_writes_nothing_and_passes_the_error_on(
    database: Database,
) -> None:
    def insert_then_fail(connection: Connection) -> None:
        connection.execute(_hit("b"))
        raise LookupError("the work changed its mind")

    with pytest.raises(LookupError):
        await database.write(insert_then_fail)
    assert await database.read(_buckets) == []


async def test_an_integrity_error_is_not_mistaken_for_an_outage(database: Database) -> None:
    await database.write(lambda c: c.execute(_hit("c")))
    with pytest.raises(IntegrityError):
        await database.write(lambda c: c.execute(_hit("c")))


async def test_concurrent_writes_all_commit(database: Database) -> None:
    def hit(bucket: str) -> Work[object]:
        return lambda connection: connection.execute(_hit(bucket))

    await asyncio.gather(*(database.write(hit(f"w{i:02}")) for i in range(40)))
    count = await database.read(
        lambda c: c.execute(select(func.count()).select_from(rate_windows)).scalar_one()
    )
    assert count == 40


async def test_reads_and_writes_are_counted_by_mode(database: Database) -> None:
    await database.write(lambda c: c.execute(_hit("d")))
    await database.read(_buckets)
    await database.read(_buckets)
    assert database.transactions.snapshot() == {"read": 2, "write": 1}


async def test_a_short_write_commits_or_rolls_back_as_a_write(database: Database) -> None:
    def insert_then_fail(connection: Connection) -> None:
        connection.execute(_hit("short-failed"))
        raise LookupError("the work changed its mind")

    await database.write_short(lambda c: c.execute(_hit("short")))
    with pytest.raises(LookupError):
        await database.write_short(insert_then_fail)
    with pytest.raises(IntegrityError):
        await database.write_short(lambda c: c.execute(_hit("short")))
    assert await database.read(_buckets) == ["short"]
    assert database.transactions.snapshot()["write"] == 3


async def test_a_write_alone_commits_its_statements_and_is_counted(database: Database) -> None:
    await database.write_alone(lambda c: c.execute(_hit("alone")))
    assert await database.read(_buckets) == ["alone"]
    assert database.transactions.snapshot()["write"] == 1


@pytest.mark.postgres
async def test_on_postgres_each_statement_of_a_write_alone_commits_by_itself(
    postgres_url: str,
) -> None:
    database = open_database(postgres_url, pool_size=1, max_overflow=0)  # one connection
    try:

        def insert_then_fail(bucket: str) -> Work[None]:
            def work(connection: Connection) -> None:
                connection.execute(_hit(bucket))
                raise LookupError("after the first statement")

            return work

        with pytest.raises(LookupError):
            await database.write_alone(insert_then_fail("kept"))
        assert await database.read(_buckets) == ["kept"]
        # The same connection is transactional again: a failing write leaves nothing.
        with pytest.raises(LookupError):
            await database.write(insert_then_fail("undone"))
        assert await database.read(_buckets) == ["kept"]
    finally:
        await database.dispose()


async def test_on_sqlite_a_short_write_runs_on_the_calling_thread_when_the_lock_is_free(
    sqlite_url: str,
) -> None:
    database = SqliteDatabase(sqlite_url)
    try:
        ran_on = await database.write_short(lambda c: threading.get_ident())
        assert ran_on == threading.get_ident()
    finally:
        await database.dispose()


async def test_on_sqlite_short_writes_keep_the_write_ahead_log_checkpointed(
    sqlite_url: str,
) -> None:
    """The inline connection never checkpoints (that would fsync on the event loop); the
    writer thread's share of the short writes must, or the log would grow without end."""
    database = SqliteDatabase(sqlite_url)
    page = "x" * 3000  # about a page of the log per write
    threads: set[int] = set()

    def inserting_a_page(n: int) -> Work[None]:
        def work(connection: Connection) -> None:
            connection.execute(_hit(f"{n}{page}"))
            threads.add(threading.get_ident())

        return work

    try:
        for n in range(3000):
            await database.write_short(inserting_a_page(n))
        log = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
        assert log.stat().st_size < 2000 * 4096  # ~3,000 pages written, ~1,000 kept at most
        assert threading.get_ident() in threads and len(threads) == 2  # inline and writer
    finally:
        await database.dispose()


async def test_on_sqlite_a_short_write_waits_on_the_writer_thread_for_a_held_lock(
    sqlite_url: str,
) -> None:
    database = SqliteDatabase(sqlite_url)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO rate_windows VALUES ('held', '2020-01-01', 1)")

    def hit_on_which_thread(connection: Connection) -> int:
        connection.execute(_hit("after"))
        return threading.get_ident()

    try:
        write = asyncio.ensure_future(database.write_short(hit_on_which_thread))
        await asyncio.sleep(0.05)  # it is waiting for the lock (not failed, not blocking us)
        holder.execute("COMMIT")
        assert await write != threading.get_ident()
        assert await database.read(_buckets) == ["after", "held"]
    finally:
        holder.close()
        await database.dispose()


async def test_on_sqlite_a_read_does_not_wait_for_another_process_holding_the_write_lock(
    sqlite_url: str,
) -> None:
    database = SqliteDatabase(sqlite_url)
    await database.write(lambda c: c.execute(_hit("before")))
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO rate_windows VALUES ('held', '2020-01-01', 1)")
    try:
        assert await database.read(_buckets) == ["before"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await database.dispose()


async def test_on_sqlite_a_read_cannot_write(sqlite_url: str) -> None:
    database = SqliteDatabase(sqlite_url)
    try:
        with pytest.raises(BackendUnavailable):
            await database.read(lambda c: c.execute(_hit("sneaky")))
    finally:
        await database.dispose()


async def test_an_unreachable_postgres_is_backend_unavailable() -> None:
    database = open_database("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(BackendUnavailable):
            await database.read(_buckets)
    finally:
        await database.dispose()
