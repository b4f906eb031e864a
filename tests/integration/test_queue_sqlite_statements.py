"""The SQLite fast path writes the very rows SQLAlchemy writes, and reads SQLAlchemy's.

Each scenario (send, claim with a burial, change visibility, delete) runs once with every
step on SQLAlchemy's statements (the reference), and again with the steps mixed or all on
the plain-SQL statements of ``queue_sqlite``; the stored text of the table must match the
reference row for row, and read back through SQLAlchemy as the same values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

from filegate.adapters.sql.database import Database, open_database
from filegate.adapters.sql.queue_claim import Claim
from filegate.adapters.sql.queue_rows import new_message_row
from filegate.adapters.sql.queue_statements import CORE, SQLITE, QueueStatements
from filegate.adapters.sql.schema import queue_messages
from filegate.domain.errors import BackendUnavailable

# Not UTC, with and without microseconds: what is stored must be the UTC instant, in the
# text SQLAlchemy stores (which always has six digits of microseconds).
SENT = datetime(2026, 3, 1, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
LATER = SENT + timedelta(seconds=1, microseconds=7)
UNTIL = datetime(2026, 3, 1, 12, 35, tzinfo=UTC)
MAX_RECEIVES = 2
STEPS = 4  # insert, claim, set_visible, delete

Plan = tuple[QueueStatements, ...]
"""The statements each step runs on."""

PLANS = {
    "fast": (SQLITE,) * STEPS,
    "fast-then-core": (SQLITE, CORE, SQLITE, CORE),
    "core-then-fast": (CORE, SQLITE, CORE, SQLITE),
}


@pytest.fixture
async def database(sqlite_url: str) -> AsyncIterator[Database]:
    database = open_database(sqlite_url)
    try:
        yield database
    finally:
        await database.dispose()


def _rows(queue: str) -> list[dict[str, Any]]:
    """Four messages of ``queue``; ``{queue}-1`` was received ``MAX_RECEIVES`` times."""
    rows = [
        new_message_row(queue, f"body {n} ünï", SENT if n < 2 else LATER, f"{queue}-{n}")
        for n in range(4)
    ]
    rows[1]["receive_count"] = MAX_RECEIVES
    return rows


async def _scenario(database: Database, queue: str, plan: Plan) -> list[str]:
    """Run the steps on ``queue`` by ``plan``; the ids of the messages claimed, in order.

    The claim of three meets the exhausted ``{queue}-1`` second: it buries it and claims
    again for the freed slot, excluding those it has already leased.
    """
    insert, claim, set_visible, delete = plan
    await database.write(lambda c: insert.insert(c, _rows(queue)))
    spec = Claim(queue, f"{queue}-dlq", MAX_RECEIVES, "max receives", LATER, UNTIL)
    claimed = await database.write(lambda c: claim.claim(c, spec, 3))
    receipts = [m.receipt for m in claimed]
    changes = [(receipts[0], LATER), (receipts[1], SENT), (receipts[1], UNTIL)]
    await database.write(lambda c: set_visible.set_visible(c, queue, changes))
    await database.write(lambda c: delete.delete(c, queue, [receipts[2], "stale"]))
    return [m.id for m in claimed]


async def _stored(database: Database, queue: str) -> list[tuple[Any, ...]]:
    """The rows of ``queue`` and its DLQ as SQLite stores them (no SQLAlchemy types)."""
    query = text(
        "SELECT substr(id, length(:queue) + 1), substr(queue, length(:queue) + 1), body,"
        " sent_at, visible_at, receipt IS NULL, receive_count, dead_reason"
        " FROM queue_messages WHERE queue IN (:queue, :queue || '-dlq') ORDER BY id"
    )

    def work(connection: Connection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in connection.execute(query, {"queue": queue})]

    return await database.read(work)


@pytest.mark.parametrize("plan", list(PLANS.values()), ids=list(PLANS))
async def test_the_fast_path_stores_what_sqlalchemy_stores(database: Database, plan: Plan) -> None:
    reference = await _scenario(database, "core", (CORE,) * STEPS)
    assert await _scenario(database, "fast", plan) == [i.replace("core", "fast") for i in reference]
    assert await _stored(database, "fast") == await _stored(database, "core")


async def test_rows_the_fast_path_wrote_read_back_through_sqlalchemy(database: Database) -> None:
    await _scenario(database, "fast", PLANS["fast"])
    query = select(queue_messages).order_by(queue_messages.c.id)
    rows = await database.read(lambda c: [row._mapping for row in c.execute(query)])
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {"fast-0", "fast-1", "fast-2"}  # fast-3 was claimed, then deleted
    assert by_id["fast-0"]["visible_at"] == LATER  # a changed visibility
    assert by_id["fast-0"]["sent_at"] == SENT
    assert by_id["fast-0"]["sent_at"].tzinfo == UTC
    assert by_id["fast-0"]["receive_count"] == 1
    assert by_id["fast-2"]["visible_at"] == UNTIL  # the last change of a receipt named twice
    assert by_id["fast-1"]["queue"] == "fast-dlq"
    assert by_id["fast-1"]["visible_at"] == LATER  # buried at the claim's "now"
    assert by_id["fast-1"]["dead_reason"] == "max receives"
    assert by_id["fast-1"]["receive_count"] == MAX_RECEIVES


@pytest.mark.parametrize("statements", [CORE, SQLITE], ids=["core", "fast"])
async def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it(
    database: Database, statements: QueueStatements
) -> None:
    row = new_message_row("fast", "body", SENT.replace(tzinfo=None))
    with pytest.raises(Exception, match="naive datetime") as raised:
        await database.write(lambda c: statements.insert(c, [row]))
    assert not isinstance(raised.value, BackendUnavailable)


async def test_a_duplicate_id_is_sqlalchemys_integrity_error(database: Database) -> None:
    row = new_message_row("fast", "body", SENT, "same")
    await database.write(lambda c: SQLITE.insert(c, [row]))
    with pytest.raises(IntegrityError):
        await database.write(lambda c: SQLITE.insert(c, [row]))
