"""SQLAlchemy statements run as plain SQL on the ``sqlite3`` connection under a ``Connection``.

On SQLite, SQLAlchemy's work per statement (an execution context, bind and result
processing, the result object) costs several times what SQLite spends running it. A
:class:`PlainStatement` is compiled once, by SQLAlchemy, for SQLite (named parameters), and
then run on the driver connection inside the transaction already open on the
``Connection`` it is given. Values are bound by the columns' own bind processors (those
SQLAlchemy would apply), so the rows it writes are SQLAlchemy's; driver errors leave as
SQLAlchemy's wrappers (``IntegrityError``, ``OperationalError`` …), as they would from
``connection.execute``, so :mod:`filegate.adapters.sql.errors` treats them alike.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Dialect, Table
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any]

_NAMED = sqlite.dialect(paramstyle="named")


@dataclass(frozen=True)
class PlainStatement:
    """One statement's SQLite text, and which of its named parameters bind as which column.

    Parameters named after a column of ``table`` are bound as that column's type binds
    them; any other parameter is passed as it is (integers, strings).
    """

    sql: str
    table: Table

    @classmethod
    def of(
        cls, statement: ClauseElement, table: Table, column_keys: Sequence[str] | None = None
    ) -> PlainStatement:
        """``statement`` compiled for SQLite; ``column_keys`` as ``compile`` takes them
        (the columns an INSERT names)."""
        keys = list(column_keys) if column_keys is not None else None
        compiled = statement.compile(dialect=_NAMED, column_keys=keys)
        return cls(str(compiled), table)

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> sqlite3.Cursor:
        """Run the statement once with ``parameters``; the driver's cursor (rows unread)."""
        bound = self._bound(connection.dialect, parameters)
        with driver_errors(connection, self.sql, bound) as driver:
            cursor: sqlite3.Cursor = driver.execute(self.sql, bound)
            return cursor

    def executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row of ``rows``."""
        dialect = connection.dialect
        bound = [self._bound(dialect, row) for row in rows]
        with driver_errors(connection, self.sql, bound) as driver:
            driver.executemany(self.sql, bound)

    def _bound(self, dialect: Dialect, parameters: Mapping[str, Any]) -> dict[str, Any]:
        processors = bind_processors(self.table, dialect)
        return {
            name: processor(value) if (processor := processors.get(name)) else value
            for name, value in parameters.items()
        }


@functools.cache
def bind_processors(table: Table, dialect: Dialect) -> Mapping[str, Processor]:
    """Per column of ``table`` that has one, the function SQLAlchemy binds its values with."""
    return _processors(table, lambda column: _impl(column, dialect).bind_processor(dialect))


@functools.cache
def result_processors(table: Table, dialect: Dialect) -> Mapping[str, Processor]:
    """Per column of ``table`` that has one, the function SQLAlchemy reads its values with."""
    return _processors(table, lambda column: _impl(column, dialect).result_processor(dialect, None))


def decoded(
    table: Table, dialect: Dialect, names: Sequence[str], row: Sequence[Any]
) -> dict[str, Any]:
    """A driver ``row`` of columns ``names`` of ``table``, as SQLAlchemy would read it."""
    processors = result_processors(table, dialect)
    return {
        name: processor(value) if (processor := processors.get(name)) else value
        for name, value in zip(names, row, strict=True)
    }


def _impl(column: Column[Any], dialect: Dialect) -> Any:
    return column.type.dialect_impl(dialect)


def _processors(
    table: Table, make: Callable[[Column[Any]], Processor | None]
) -> Mapping[str, Processor]:
    found = {column.name: make(column) for column in table.columns}
    return {name: processor for name, processor in found.items() if processor is not None}


@contextmanager
def driver_errors(connection: Connection, statement: str, params: Any) -> Iterator[Any]:
    """The ``sqlite3`` connection under ``connection``; its errors wrapped as SQLAlchemy's."""
    try:
        yield connection.connection.driver_connection
    except sqlite3.Error as exc:
        raise sa_exc.DBAPIError.instance(statement, params, exc, sqlite3.Error) from exc
