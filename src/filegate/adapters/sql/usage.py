"""Per-owner usage counters (``owner_usage``), changed inside the caller's transaction.

Usage is what :mod:`filegate.domain.quotas` says each file counts for. It stays exact
because every write to ``files`` that changes what a file counts for also changes the
counters, in the same transaction:

* an insert calls :func:`reserve` or :func:`reserve_many` (which also enforce the limits);
* a compare-and-set calls :func:`apply_change` with the difference of the two states;
* anything that changes ``files.owner`` (a claim) calls :func:`recount_owners` for both
  owners before it commits.

Locking: an owner's row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers anyway) before it is read for a decision, so two
registrations of one owner cannot both see room for one more file. Several rows are
always locked in ascending owner order, so that two such transactions cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from filegate.adapters.sql.async_bridge import bridged
from filegate.adapters.sql.schema import files, owner_usage
from filegate.domain.quotas import (
    LIVE_STATES,
    PENDING_STATES,
    QuotaExceeded,
    QuotaLimits,
    Usage,
    admission,
    usage_of,
)
from filegate.domain.states import FileState

_u = owner_usage


def reserve(
    connection: Connection,
    owner: str,
    state: FileState,
    size: int,
    limits: QuotaLimits | None,
) -> None:
    """Count one new file of ``size`` bytes in ``state`` (REGISTERED, but for tests) for
    ``owner``.

    Raises :class:`~filegate.domain.quotas.QuotaExceeded` (counting nothing) when it does
    not fit ``limits``. The owner's row stays locked until the transaction ends.
    """
    [refusal] = reserve_many(connection, [NewFile(owner, state, size)], limits)
    if refusal is not None:
        raise refusal


@dataclass(frozen=True)
class NewFile:
    """What one new file counts for, as :func:`reserve_many` needs it."""

    owner: str
    state: FileState
    size: int


def reserve_many(
    connection: Connection, new_files: Sequence[NewFile], limits: QuotaLimits | None
) -> list[QuotaExceeded | None]:
    """Count each new file that fits, deciding in order as :func:`reserve` would one by one.

    Returns, per file, its ``QuotaExceeded`` (counted nothing) or ``None`` (counted). Each
    owner's row is locked and read once, and written once; the rows stay locked until the
    transaction ends.
    """
    owners = sorted({new.owner for new in new_files})
    if not owners:
        return []
    _ensure_rows(connection, owners)
    before = _locked(connection, owners)
    after = dict(before)
    refusals: list[QuotaExceeded | None] = []
    for new in new_files:
        current = after[new.owner]
        refusal = None if limits is None else admission(current, limits, new.size)
        if refusal is None:
            after[new.owner] = current + usage_of(new.state, new.size)
        refusals.append(refusal)
    for owner in owners:
        if not (delta := after[owner] - before[owner]).is_zero:
            _add(connection, owner, delta)
    return refusals


def apply_change(connection: Connection, owner: str, delta: Usage) -> None:
    """Add ``delta`` (the difference a state change makes) to ``owner``'s usage."""
    if delta.is_zero:
        return
    _ensure_rows(connection, [owner])
    _add(connection, owner, delta)


@bridged
def read_usage(connection: Connection, owner: str) -> Usage:
    """``owner``'s counters (zero when it has none)."""
    row = connection.execute(select(_u).where(_u.c.owner == owner)).first()
    return Usage() if row is None else _usage_of(row._mapping)


@bridged
def recount_owners(connection: Connection, owners: Sequence[str]) -> int:
    """Set each owner's counters to what its files count for; return how many were wrong."""
    wanted = sorted(set(owners))
    if not wanted:
        return 0
    _ensure_rows(connection, wanted)
    stored = _locked(connection, wanted)
    actual = _counted(connection, wanted)
    wrong = [owner for owner in wanted if stored[owner] != actual.get(owner, Usage())]
    for owner in wrong:
        _set(connection, owner, actual.get(owner, Usage()))
    return len(wrong)


@bridged
def owners_after(connection: Connection, after: str | None, limit: int) -> list[str]:
    """Up to ``limit`` owners (of files or of counters) in ascending order, after ``after``."""
    known = select(files.c.owner.label("owner")).union(select(_u.c.owner)).subquery()
    query = select(known.c.owner).order_by(known.c.owner).limit(limit)
    if after is not None:
        query = query.where(known.c.owner > after)
    return [row.owner for row in connection.execute(query).all()]


def _ensure_rows(connection: Connection, owners: Sequence[str]) -> None:
    rows = [{"owner": o, "pending": 0, "files": 0, "bytes": 0} for o in owners]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_u).values(rows).on_conflict_do_nothing(index_elements=["owner"])
    connection.execute(statement)


def _locked(connection: Connection, owners: Sequence[str]) -> dict[str, Usage]:
    query = select(_u).where(_u.c.owner.in_(owners)).order_by(_u.c.owner).with_for_update()
    rows = connection.execute(query).all()
    return {row.owner: _usage_of(row._mapping) for row in rows}


def _counted(connection: Connection, owners: Sequence[str]) -> dict[str, Usage]:
    pending = [s.value for s in PENDING_STATES]
    live = [s.value for s in LIVE_STATES]
    query = (
        select(
            files.c.owner,
            func.sum(case((files.c.state.in_(pending), 1), else_=0)).label("pending"),
            func.sum(case((files.c.state.in_(live), 1), else_=0)).label("files"),
            func.sum(case((files.c.state.in_(live), files.c.declared_size), else_=0)).label(
                "bytes"
            ),
        )
        .where(files.c.owner.in_(owners))
        .group_by(files.c.owner)
    )
    rows = connection.execute(query).all()
    return {row.owner: _usage_of(row._mapping) for row in rows}


def _add(connection: Connection, owner: str, delta: Usage) -> None:
    connection.execute(
        update(_u)
        .where(_u.c.owner == owner)
        .values(
            pending=_u.c.pending + delta.pending,
            files=_u.c.files + delta.files,
            bytes=_u.c.bytes + delta.bytes,
        )
    )


def _set(connection: Connection, owner: str, usage: Usage) -> None:
    connection.execute(
        update(_u)
        .where(_u.c.owner == owner)
        .values(pending=usage.pending, files=usage.files, bytes=usage.bytes)
    )


def _usage_of(values: Any) -> Usage:
    return Usage(int(values["pending"]), int(values["files"]), int(values["bytes"]))
