"""The SQL queue's hot statements, in the form each database runs fastest.

:data:`CORE` builds them with SQLAlchemy (every database); :data:`SQLITE` runs the same
statements as plain SQL on the ``sqlite3`` connection (:mod:`filegate.adapters.sql.queue_sqlite`),
which on SQLite is several times cheaper per statement. Each function runs inside the
caller's transaction on the ``Connection`` it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, update

from filegate.adapters.sql import queue_claim, queue_sqlite
from filegate.adapters.sql.database import Database
from filegate.adapters.sql.queue_claim import Claim
from filegate.adapters.sql.schema import queue_messages
from filegate.domain.models import Message

_t = queue_messages


@dataclass(frozen=True)
class QueueStatements:
    """The statements of send, claim, delete and change-visibility on one kind of database."""

    insert: Callable[[Connection, Sequence[Mapping[str, Any]]], None]
    """Insert ``queue_messages`` rows (mappings of every column, as ``queue_rows`` makes)."""
    claim: Callable[[Connection, Claim, int], list[Message]]
    """:func:`filegate.adapters.sql.queue_claim.claim`."""
    delete: Callable[[Connection, str, Sequence[str]], None]
    """Delete the rows of the queue holding any of the receipts (stale ones match nothing)."""
    set_visible: Callable[[Connection, str, Sequence[tuple[str, datetime]]], None]
    """For each ``(receipt, until)`` in order: that row of the queue is visible at ``until``."""


def statements_for(database: Database) -> QueueStatements:
    """:data:`SQLITE` on SQLite, :data:`CORE` elsewhere."""
    return SQLITE if database.dialect == "sqlite" else CORE


def _insert(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    connection.execute(_INSERT, list(rows))


def _delete(connection: Connection, queue: str, receipts: Sequence[str]) -> None:
    connection.execute(_DELETE, {"queue": queue, "receipts": list(receipts)})


def _set_visible(
    connection: Connection, queue: str, changes: Sequence[tuple[str, datetime]]
) -> None:
    rows = [{"b_queue": queue, "b_receipt": r, "b_until": until} for r, until in changes]
    connection.execute(_SET_VISIBLE, rows)


_INSERT = insert(_t)
_DELETE = delete(_t).where(
    _t.c.queue == bindparam("queue"), _t.c.receipt.in_(bindparam("receipts", expanding=True))
)
_SET_VISIBLE = (
    update(_t)
    .where(_t.c.queue == bindparam("b_queue"), _t.c.receipt == bindparam("b_receipt"))
    .values(visible_at=bindparam("b_until"))
)

CORE = QueueStatements(_insert, queue_claim.claim, _delete, _set_visible)
SQLITE = QueueStatements(
    queue_sqlite.insert, queue_sqlite.claim, queue_sqlite.delete, queue_sqlite.set_visible
)
