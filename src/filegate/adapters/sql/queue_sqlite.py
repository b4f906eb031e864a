"""The SQL queue's hot statements on SQLite, run as plain SQL on the ``sqlite3`` connection.

On SQLite a queue statement costs SQLAlchemy more (an execution context, the bind and
result processing, the result object) than it costs SQLite. These functions run the
statements of send, claim, delete and change-visibility directly on the driver connection
underneath the SQLAlchemy ``Connection`` they are given, inside the transaction already
open on it (the ``BEGIN IMMEDIATE`` of :class:`~filegate.adapters.sql.database.Database`),
with the same effect as their SQLAlchemy forms in :mod:`filegate.adapters.sql.queue` and
:mod:`filegate.adapters.sql.queue_claim`:

* timestamps are bound as the column type (``UTCDateTime``) stores them, by that type's
  own bind processor, so these rows and SQLAlchemy's are indistinguishable;
* driver errors leave as SQLAlchemy's wrappers (``OperationalError`` …), as they would
  from ``connection.execute``, so ``translate_errors`` treats them alike.

PostgreSQL keeps the SQLAlchemy statements (see :mod:`filegate.adapters.sql.queue_statements`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite

from filegate.adapters.sql.queue_claim import Claim, Claimed, claim_with
from filegate.adapters.sql.schema import queue_messages
from filegate.adapters.sql.sqlite_plain import driver_errors
from filegate.domain.models import Message

_INSERT = (
    "INSERT INTO queue_messages (id, queue, body, sent_at, visible_at, receipt, receive_count,"
    " dead_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# The claim of queue_claim: every CASE reads the row as it was before the update.
_CLAIM_SET = (
    "UPDATE queue_messages SET"
    " queue = CASE WHEN receive_count >= :max_receives THEN :dlq ELSE queue END,"
    " dead_reason = CASE WHEN receive_count >= :max_receives THEN :reason ELSE dead_reason END,"
    " receipt = CASE WHEN receive_count >= :max_receives THEN NULL"
    " ELSE lower(hex(randomblob(16))) END,"
    " receive_count = CASE WHEN receive_count >= :max_receives THEN receive_count"
    " ELSE receive_count + 1 END,"
    " visible_at = CASE WHEN receive_count >= :max_receives THEN :now ELSE :until END"
    " WHERE id IN (SELECT id FROM queue_messages WHERE queue = :queue AND visible_at <= :now"
)
_CLAIM_RETURN = (
    " ORDER BY sent_at, id LIMIT :limit) RETURNING id, queue, body, receipt, receive_count, sent_at"
)
_CLAIM_FIRST = _CLAIM_SET + _CLAIM_RETURN
_EXCLUDING = " AND id NOT IN (SELECT value FROM json_each(:exclude))"
_CLAIM_AGAIN = _CLAIM_SET + _EXCLUDING + _CLAIM_RETURN
_SET_VISIBLE = "UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ?"

_SQLITE = sqlite.dialect()
# The whole chain SQLAlchemy binds with: UTCDateTime's own step, then SQLite's DATETIME text.
_stored_processor = queue_messages.c.visible_at.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)


@lru_cache(maxsize=64)
def stored(moment: datetime) -> Any:
    """``moment`` as ``queue_messages``' timestamp columns store it on SQLite.

    Cached: the rows of one batch share their timestamps. (Equal aware datetimes are one
    instant, which is what is stored.)
    """
    assert _stored_processor is not None
    return _stored_processor(moment)


def insert(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``queue_messages`` rows given as column-to-value mappings (every column)."""
    values = [_bound(row) for row in rows]
    with driver_errors(connection, _INSERT, values) as driver:
        driver.executemany(_INSERT, values)


def _bound(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The parameters of :data:`_INSERT` for ``row``."""
    return (
        row["id"],
        row["queue"],
        row["body"],
        stored(row["sent_at"]),
        stored(row["visible_at"]),
        row["receipt"],
        row["receive_count"],
        row["dead_reason"],
    )


def claim(connection: Connection, spec: Claim, limit: int) -> list[Message]:
    """:func:`filegate.adapters.sql.queue_claim.claim`, on the driver connection."""
    params = {
        "queue": spec.queue,
        "dlq": spec.dlq,
        "max_receives": spec.max_receives,
        "reason": spec.reason,
        "now": stored(spec.now),
        "until": stored(spec.until),
    }

    def take(remaining: int, exclude: list[str]) -> Sequence[Claimed]:
        statement = _CLAIM_AGAIN if exclude else _CLAIM_FIRST
        bound = params | {"limit": remaining}
        if exclude:
            bound["exclude"] = json.dumps(exclude)
        with driver_errors(connection, statement, bound) as driver:
            rows: list[Claimed] = driver.execute(statement, bound).fetchall()
        return rows

    return claim_with(take, spec.queue, limit)


def delete(connection: Connection, queue: str, receipts: Sequence[str]) -> None:
    """Delete the rows of ``queue`` holding any of ``receipts``."""
    statement = _delete_statement(len(receipts))
    params = (queue, *receipts)
    with driver_errors(connection, statement, params) as driver:
        driver.execute(statement, params)


@lru_cache(maxsize=32)
def _delete_statement(receipts: int) -> str:
    marks = ", ".join("?" * receipts)
    # Only placeholders are formatted in; the statement text is cached per batch size.
    return f"DELETE FROM queue_messages WHERE queue = ? AND receipt IN ({marks})"  # noqa: S608


def set_visible(
    connection: Connection, queue: str, changes: Sequence[tuple[str, datetime]]
) -> None:
    """For each ``(receipt, until)`` in order: that row of ``queue`` is visible at ``until``."""
    params = [(stored(until), queue, receipt) for receipt, until in changes]
    with driver_errors(connection, _SET_VISIBLE, params) as driver:
        driver.executemany(_SET_VISIBLE, params)
