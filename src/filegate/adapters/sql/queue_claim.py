"""The SQL queue's claim: one ``UPDATE … RETURNING`` that leases or buries the oldest rows.

The statement picks up to ``limit`` visible rows of the queue, oldest sent first (on
PostgreSQL ``FOR UPDATE SKIP LOCKED``, so concurrent claimers take disjoint rows without
waiting; SQLite's writer lock serialises them), and in the same statement updates each:

* received fewer than ``max_receives`` times: a fresh receipt, one more receive, invisible
  until ``until`` — it is returned as a :class:`Message`;
* already received ``max_receives`` times: moved to the dead-letter queue (``dlq``) with
  ``reason``, visible there now, without a receipt — it is not returned.

The right-hand sides of ``SET`` read the row as it was before the update (SQL semantics),
so one ``CASE`` on the old ``receive_count`` chooses the branch for every column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, bindparam, case, func, null, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from filegate.adapters.sql.schema import queue_messages
from filegate.domain.models import Message

_t = queue_messages


class fresh_receipt(FunctionElement[str]):  # lower-case: it reads like the SQL function
    """A new random receipt for each row (32 hex characters), made by the database."""

    type = String()
    name = "fresh_receipt"
    inherit_cache = True


@compiles(fresh_receipt, "sqlite")
def _sqlite_receipt(element: fresh_receipt, compiler: SQLCompiler, **kw: Any) -> str:
    return "lower(hex(randomblob(16)))"


@compiles(fresh_receipt, "postgresql")
def _postgres_receipt(element: fresh_receipt, compiler: SQLCompiler, **kw: Any) -> str:
    return "replace(CAST(gen_random_uuid() AS TEXT), '-', '')"


@dataclass(frozen=True)
class Claim:
    """What one claim takes: from queue ``queue`` at time ``now``, leasing until ``until``."""

    queue: str
    dlq: str
    max_receives: int
    reason: str
    now: datetime
    until: datetime


Claimed = Sequence[Any]
"""One updated row: ``(id, queue, body, receipt, receive_count, sent_at)`` in this order.

``sent_at`` only orders the rows: a ``datetime``, or the text SQLite stores for it (which
sorts the same way)."""

Take = Callable[[int, list[str]], Sequence[Claimed]]
"""Runs the claim statement once: ``(limit, ids to exclude)`` to the rows it updated."""


def claim(connection: Connection, spec: Claim, limit: int) -> list[Message]:
    """Lease up to ``limit`` messages, oldest first, burying the exhausted ones they meet.

    Usually one statement; when it buried rows (which took slots of ``limit``), it runs
    again for the freed slots, so as many messages come back as a claim without dead
    letters would return.
    """
    params = {
        "queue": spec.queue,
        "dlq": spec.dlq,
        "max_receives": spec.max_receives,
        "reason": spec.reason,
        "now": spec.now,
        "until": spec.until,
    }

    def take(remaining: int, exclude: list[str]) -> Sequence[Claimed]:
        statement = _AGAIN if exclude else _FIRST
        taken = {"limit": remaining, "exclude": exclude}
        return connection.execute(statement, params | taken).all()

    return claim_with(take, spec.queue, limit)


def claim_with(take: Take, queue: str, limit: int) -> list[Message]:
    """The claim loop of :func:`claim` over ``take`` (one run of the statement, any driver)."""
    claimed: list[Message] = []
    while len(claimed) < limit:
        rows = take(limit - len(claimed), [m.id for m in claimed])
        leased = sorted((r for r in rows if r[1] == queue), key=_age)
        claimed += [Message(r[0], r[3], r[2], r[4]) for r in leased]
        if len(leased) == len(rows):  # nothing buried: nothing more is visible
            break
    return claimed


def _statement(excluding: bool) -> Any:
    """The claim, built once with bind parameters (so SQLAlchemy caches its compiled form)."""
    now = bindparam("now", type_=_t.c.visible_at.type)
    pick = (
        select(_t.c.id)
        .where(_t.c.queue == bindparam("queue"), _t.c.visible_at <= now)
        .order_by(_t.c.sent_at, _t.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)  # rendered as nothing on SQLite
    )
    if excluding:  # with a zero timeout, rows leased by this claim are visible again
        pick = pick.where(_t.c.id.not_in(bindparam("exclude", expanding=True)))
    exhausted = _t.c.receive_count >= bindparam("max_receives", type_=Integer)
    return (
        update(_t)
        .where(_t.c.id.in_(pick.scalar_subquery()))
        .values(
            queue=case((exhausted, bindparam("dlq", type_=String)), else_=_t.c.queue),
            dead_reason=case(
                (exhausted, bindparam("reason", type_=String)), else_=_t.c.dead_reason
            ),
            receipt=case((exhausted, null()), else_=fresh_receipt()),
            receive_count=case((exhausted, _t.c.receive_count), else_=_t.c.receive_count + 1),
            visible_at=case((exhausted, now), else_=bindparam("until", type_=_t.c.visible_at.type)),
        )
        .returning(_t.c.id, _t.c.queue, _t.c.body, _t.c.receipt, _t.c.receive_count, _t.c.sent_at)
    )


_FIRST = _statement(excluding=False)
_AGAIN = _statement(excluding=True)


def _age(row: Claimed) -> tuple[Any, str]:
    return (row[5], row[0])


def next_visible(connection: Connection, queue: str) -> datetime | None:
    """When the soonest message of ``queue`` is (or was) visible; ``None`` when it is empty."""
    query = select(func.min(_t.c.visible_at)).where(_t.c.queue == queue)
    value: datetime | None = connection.execute(query).scalar()
    return value
