"""Per-owner usage counters (``owner_usage``), changed inside the caller's transaction.

Usage is what :mod:`filegate.domain.quotas` says each file counts for. It stays exact
because every write to ``files`` that changes what a file counts for also changes the
counters, in the same transaction:

* an insert calls :func:`reserve` (one file) or :func:`plan_many` then :func:`apply_plan`
  (a batch), which also enforce the limits;
* a compare-and-set calls :func:`apply_changes` with the differences of the states;
* anything that changes ``files.owner`` (a claim) calls :func:`recount_owners` for both
  owners before it commits.

No hot row: an owner's row is written by one upsert, the transaction's last statement,
so it is locked only from there to the commit (PostgreSQL, where a registration's upsert
is part of its one statement, :mod:`filegate.adapters.sql.registration_postgres`; SQLite's
``BEGIN IMMEDIATE`` serialises writers anyway). A registration's upsert adds its file only
``WHERE`` the limits still hold on the row as it is then (PostgreSQL evaluates the
condition on the locked, latest row), so two registrations of one owner cannot both take
the last place.
A batch reads the counters first without a lock and its upserts add only ``WHERE`` they
are unchanged (else :class:`UsageMoved`: the caller runs it again, locking first). Several
rows are always written in ascending owner order, so that two transactions cannot
deadlock on them. :func:`recount_owners` locks the rows before counting the files, so a
concurrent change is either counted or added after.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from filegate.adapters.sql.schema import files, owner_usage
from filegate.adapters.sql.sqlite_plain import PlainStatement
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
    *,
    plain: bool | None = None,
) -> None:
    """Count one new file of ``size`` bytes in ``state`` (REGISTERED, but for tests) for
    ``owner``: one conditional upsert, the transaction's last statement.

    Raises :class:`~filegate.domain.quotas.QuotaExceeded` (counting nothing; the caller's
    transaction must roll back) when it does not fit ``limits``. The owner's row is
    locked from this statement to the commit only. ``plain`` runs it as plain SQL
    on SQLite (by default there; ``False`` keeps SQLAlchemy's execution).
    """
    added = usage_of(state, size)
    reservation(limits, size)  # raises when not even a first file of this size fits
    fits = None if limits is None else _room_for(limits, size)
    while _upsert(connection, owner, added, where=fits, plain=plain) is None:
        assert limits is not None  # an unconditional upsert always returns its row
        refusal_now(connection, owner, limits, size)
        # The row changed between the two statements (PostgreSQL): decide again.


def reservation(limits: QuotaLimits | None, size: int) -> tuple[str, ...] | None:
    """The condition shape under which one more file of ``size`` bytes fits ``limits``
    (``None``: no limits), for :func:`reserving_upsert`; raises ``QuotaExceeded`` when
    not even a first such file fits."""
    if limits is None:
        return None
    if (refusal := admission(Usage(), limits, size)) is not None:
        raise refusal
    return _room_for(limits, size).shape


def reservation_parameters(limits: QuotaLimits | None, size: int) -> dict[str, int]:
    """The values the conditions of :func:`reservation` compare with."""
    return {} if limits is None else _room_for(limits, size).parameters


def refusal_now(connection: Connection, owner: str, limits: QuotaLimits, size: int) -> None:
    """Raise ``QuotaExceeded`` when one more file of ``size`` bytes does not fit ``owner``'s
    usage as it is now (after a conditional reservation counted nothing)."""
    refusal = admission(read_usage(connection, owner), limits, size)
    if refusal is not None:
        raise refusal


def reserving_upsert(shape: tuple[str, ...] | None, guard: ColumnElement[bool]) -> Any:
    """PostgreSQL's upsert of :func:`_upsert` for condition ``shape``, inserting its row from
    ``select(...).where(guard)`` (no row, nothing counted, when ``guard`` is false);
    returns the owner when it counted."""
    added = select(
        bindparam("owner", type_=_u.c.owner.type),
        bindparam("pending", type_=_u.c.pending.type),
        bindparam("files", type_=_u.c.files.type),
        bindparam("bytes", type_=_u.c.bytes.type),
    ).where(guard)
    statement = postgresql.insert(_u).from_select(["owner", "pending", "files", "bytes"], added)
    return _on_conflict_add(statement, shape).returning(_u.c.owner)


@dataclass(frozen=True)
class NewFile:
    """What one new file counts for, as :func:`plan_many` needs it."""

    owner: str
    state: FileState
    size: int


class UsageMoved(Exception):
    """An owner's usage changed after :func:`plan_many` read it without a lock: roll back and
    plan again with ``lock=True``."""


@dataclass(frozen=True)
class Plan:
    """Which new files fit (``refusals``, in order) and the usage they were decided on."""

    refusals: list[QuotaExceeded | None]
    before: dict[str, Usage]
    after: dict[str, Usage]
    checked: bool
    """Whether limits were applied (the decisions then depend on ``before``)."""


def plan_many(
    connection: Connection,
    new_files: Sequence[NewFile],
    limits: QuotaLimits | None,
    *,
    lock: bool = False,
) -> Plan:
    """Decide, in order, which new files fit as :func:`reserve` would decide one by one.

    Reads each owner's counters once: without a lock by default (:func:`apply_plan`
    then fails with :class:`UsageMoved` if they changed meanwhile), or locked until the
    transaction ends (``lock=True``: :func:`apply_plan` cannot fail). Writes nothing
    unless locking (it then creates missing rows, to lock them).
    """
    owners = sorted({new.owner for new in new_files})
    if lock:
        _ensure_rows(connection, owners)
    before = _read(connection, owners, lock=lock) if limits is not None and owners else {}
    before = {owner: before.get(owner, Usage()) for owner in owners}
    after = dict(before)
    refusals: list[QuotaExceeded | None] = []
    for new in new_files:
        current = after[new.owner]
        refusal = None if limits is None else admission(current, limits, new.size)
        if refusal is None:
            after[new.owner] = current + usage_of(new.state, new.size)
        refusals.append(refusal)
    return Plan(refusals, before, after, checked=limits is not None)


def apply_plan(connection: Connection, plan: Plan, *, plain: bool | None = None) -> None:
    """Count the admitted files of ``plan``: one upsert per owner, in owner order (so two
    transactions never wait for each other's rows in opposite orders).

    Raises :class:`UsageMoved` when an owner's counters are no longer those the plan was
    decided on (writing nothing for it; the caller's transaction must roll back).
    """
    for owner, before in sorted(plan.before.items()):
        if (delta := plan.after[owner] - before).is_zero:
            continue
        unchanged = _equals(before) if plan.checked else None
        if _upsert(connection, owner, delta, where=unchanged, plain=plain) is None:
            raise UsageMoved(owner)


def apply_changes(connection: Connection, deltas: Mapping[str, Usage]) -> None:
    """Add each owner's ``delta`` (what state changes made of its files), in owner order.

    One upsert per owner with a non-zero delta; best as the transaction's last statements,
    so that the owners' rows are locked only until the commit.
    """
    for owner, delta in sorted(deltas.items()):
        if not delta.is_zero:
            _upsert(connection, owner, delta, where=None)


def apply_change(connection: Connection, owner: str, delta: Usage) -> None:
    """Add ``delta`` (the difference a state change makes) to ``owner``'s usage."""
    apply_changes(connection, {owner: delta})


def read_usage(connection: Connection, owner: str) -> Usage:
    """``owner``'s counters (zero when it has none)."""
    row = connection.execute(select(_u).where(_u.c.owner == owner)).first()
    return Usage() if row is None else _usage_of(row._mapping)


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
    return _read(connection, owners, lock=True)


def _read(connection: Connection, owners: Sequence[str], *, lock: bool) -> dict[str, Usage]:
    query = select(_u).where(_u.c.owner.in_(owners)).order_by(_u.c.owner)
    rows = connection.execute(query.with_for_update() if lock else query).all()
    return {row.owner: _usage_of(row._mapping) for row in rows}


def _upsert(
    connection: Connection,
    owner: str,
    delta: Usage,
    *,
    where: _Where | None,
    plain: bool | None = None,
) -> Usage | None:
    """Add ``delta`` to ``owner``'s row (created with ``delta`` if missing) when ``where``
    holds for the existing row; the counters after, or ``None`` when ``where`` failed.

    ``plain`` runs the statement as plain SQL on the driver (:mod:`filegate.adapters.sql.
    sqlite_plain`): by default on SQLite, where SQLAlchemy's work costs more than the
    statement; ``False`` keeps SQLAlchemy's execution.
    """
    dialect = connection.dialect.name
    shape = where.shape if where else None
    values = {"owner": owner, "pending": delta.pending, "files": delta.files, "bytes": delta.bytes}
    parameters = values | (where.parameters if where else {})
    if dialect == "sqlite" and plain is not False:
        found = _plain_upsert(shape).execute(connection, parameters).fetchall()
        return Usage(*(int(count) for count in found[0])) if found else None
    row = connection.execute(_upsert_statement(dialect, shape), parameters).first()
    return None if row is None else _usage_of(row._mapping)


@dataclass(frozen=True)
class _Where:
    """A condition on the existing row: which checks (``shape``) with which values."""

    shape: tuple[str, ...]
    parameters: dict[str, int]


def _room_for(limits: QuotaLimits, size: int) -> _Where:
    """The existing row has room for one more file of ``size`` bytes (as ``admission``)."""
    checks = {
        "room_files": (limits.max_files, limits.max_files - 1),
        "room_bytes": (limits.max_bytes, limits.max_bytes - size),
        "room_pending": (limits.max_pending, limits.max_pending - 1),
    }
    wanted = {name: room for name, (limit, room) in checks.items() if limit}
    return _Where(tuple(wanted), wanted)


def _equals(usage: Usage) -> _Where:
    values = {"was_pending": usage.pending, "was_files": usage.files, "was_bytes": usage.bytes}
    return _Where(tuple(values), values)


_CONDITIONS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "room_files": lambda: _u.c.files <= bindparam("room_files"),
    "room_bytes": lambda: _u.c.bytes <= bindparam("room_bytes"),
    "room_pending": lambda: _u.c.pending <= bindparam("room_pending"),
    "was_pending": lambda: _u.c.pending == bindparam("was_pending"),
    "was_files": lambda: _u.c.files == bindparam("was_files"),
    "was_bytes": lambda: _u.c.bytes == bindparam("was_bytes"),
}


@functools.cache
def _upsert_statement(dialect_name: str, shape: tuple[str, ...] | None) -> Any:
    """The upsert of :func:`_upsert` for one dialect and condition shape (built once: building
    it per call costs more than SQLite takes to run it)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(_u).values(
        owner=bindparam("owner"),
        pending=bindparam("pending"),
        files=bindparam("files"),
        bytes=bindparam("bytes"),
    )
    return _on_conflict_add(statement, shape).returning(_u.c.pending, _u.c.files, _u.c.bytes)


def _on_conflict_add(statement: Any, shape: tuple[str, ...] | None) -> Any:
    """``statement`` adding its counters to an existing row where the ``shape`` holds."""
    new = statement.excluded
    where = None if shape is None else and_(true(), *(_CONDITIONS[name]() for name in shape))
    return statement.on_conflict_do_update(
        index_elements=["owner"],
        set_={
            "pending": _u.c.pending + new.pending,
            "files": _u.c.files + new.files,
            "bytes": _u.c.bytes + new.bytes,
        },
        where=where,
    )


@functools.cache
def _plain_upsert(shape: tuple[str, ...] | None) -> PlainStatement:
    """The SQLite upsert of :func:`_upsert`, compiled once per condition shape."""
    return PlainStatement.of(_upsert_statement("sqlite", shape), _u)


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


def _set(connection: Connection, owner: str, usage: Usage) -> None:
    connection.execute(
        update(_u)
        .where(_u.c.owner == owner)
        .values(pending=usage.pending, files=usage.files, bytes=usage.bytes)
    )


def _usage_of(values: Any) -> Usage:
    return Usage(int(values["pending"]), int(values["files"]), int(values["bytes"]))
