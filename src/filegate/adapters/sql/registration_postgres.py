"""A registration on PostgreSQL as one statement.

The duplicate check, the usage reservation (the conditional upsert of
:mod:`filegate.adapters.sql.usage`), the file row and its first history row are one
``INSERT`` chain of common table expressions: one round trip and one execution instead of
four of each, run on the driver (:mod:`filegate.adapters.sql.postgres_plain`). Each part
runs only when the one before it allowed it: the reservation only without a READY
duplicate, the rows only when the reservation counted. The statement answers whether it
reserved, and the duplicate's id when there was one.

It runs alone (:meth:`~filegate.adapters.sql.database.Database.write_alone`: its own
transaction, no ``BEGIN`` or ``COMMIT`` round trip), so the owner's usage row is locked for
the rest of this one statement only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    exists,
    func,
    insert,
    select,
)

from filegate.adapters.sql.postgres_plain import DriverStatement
from filegate.adapters.sql.schema import file_transitions, files
from filegate.adapters.sql.usage import reserving_upsert
from filegate.domain.states import FileState

FILE_PREFIX = "file_"
HISTORY_PREFIX = "history_"
"""The bound parameters of the file row and of the history row are their columns' names
with these prefixes (the owner's counters are ``owner``, ``pending``, ``files``, ``bytes``;
the duplicate's hash ``duplicate_sha256``, ``None`` when not deduplicating)."""


@dataclass(frozen=True)
class Registered:
    """What the statement did: ``reserved`` (and inserted), or found ``duplicate``, or neither
    (the reservation's limits refused it)."""

    reserved: bool
    duplicate: str | None


def register(
    connection: Connection,
    file_row: Mapping[str, Any],
    history_row: Mapping[str, Any],
    counters: Mapping[str, Any],
    shape: tuple[str, ...] | None,
) -> Registered:
    """Run the statement for ``file_row`` (every column) and ``history_row`` (every column
    but ``id``) with the usage ``counters`` (and the values of the ``shape`` of conditions)."""
    parameters = parameters_of(file_row, history_row, counters)
    row = statement(shape).execute(connection, parameters).fetchone()
    assert row is not None  # a SELECT of two scalar subqueries is always one row
    return Registered(bool(row[0]), row[1])


def parameters_of(
    file_row: Mapping[str, Any], history_row: Mapping[str, Any], counters: Mapping[str, Any]
) -> dict[str, Any]:
    """The statement's parameters (see :data:`FILE_PREFIX`)."""
    return {
        **{FILE_PREFIX + name: value for name, value in file_row.items()},
        **{HISTORY_PREFIX + name: value for name, value in history_row.items()},
        **counters,
    }


@functools.cache
def statement(shape: tuple[str, ...] | None) -> DriverStatement:
    """The statement for the condition ``shape`` (``None``: no limits), compiled once."""
    return DriverStatement.of(_chain(shape))


def _chain(shape: tuple[str, ...] | None) -> Any:
    # The owner's READY files with this hash, found first and apart (MATERIALIZED): with
    # the ORDER BY … LIMIT 1 beside it, the planner walks the owner's files in creation
    # order instead (ix_files_owner_created), every one of them when none matches.
    matches = (
        select(files.c.id, files.c.created_at)
        .where(
            files.c.owner == bindparam("owner"),
            files.c.sha256 == bindparam("duplicate_sha256", type_=files.c.sha256.type),
            files.c.state == FileState.READY.value,
        )
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    duplicate = (
        select(matches.c.id).order_by(matches.c.created_at, matches.c.id).limit(1).cte("duplicate")
    )
    reserved = reserving_upsert(shape, ~exists(duplicate.select())).cte("reserved")
    inserted = (
        insert(files)
        .from_select(_names(files), _values(files, FILE_PREFIX).select_from(reserved))
        .returning(files.c.id)
        .cte("inserted")
    )
    history_columns = [c for c in file_transitions.columns if c.name != "id"]
    history = insert(file_transitions).from_select(
        [c.name for c in history_columns],
        select(
            *(bindparam(HISTORY_PREFIX + c.name, type_=c.type) for c in history_columns)
        ).select_from(inserted),
    )
    return select(
        select(func.count()).select_from(reserved).scalar_subquery().label("reserved"),
        select(duplicate.c.id).scalar_subquery().label("duplicate"),
    ).add_cte(history.cte("history"))


def _names(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def _values(table: Table, prefix: str) -> Any:
    """``SELECT`` of one bound value per column, typed as the column (SQLAlchemy's psycopg
    dialect casts each: in a select list PostgreSQL would otherwise take it for text)."""
    return select(*(bindparam(prefix + c.name, type_=c.type) for c in table.columns))
