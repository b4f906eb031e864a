"""SQLAlchemy statements run as plain SQL on the psycopg connection under a ``Connection``.

The PostgreSQL counterpart of :mod:`filegate.adapters.sql.sqlite_plain`, for a statement
run on every request: SQLAlchemy's execution (cache lookup, execution context, parameter
processing, the result object) costs more thread time than psycopg's. A
:class:`DriverStatement` is compiled once by SQLAlchemy's psycopg dialect (with its casts);
each run binds its values with the bind processors SQLAlchemy would apply, adds the
statement's literal values, and executes on the driver connection. Driver errors leave as
SQLAlchemy's wrappers (``IntegrityError``, ``OperationalError`` …), as from
``connection.execute``, so that :mod:`filegate.adapters.sql.errors` treats them alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:  # psycopg is the postgres extra's: imported only where it runs
    import psycopg

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class DriverStatement:
    """One statement's psycopg text, its literal values, and how each parameter binds."""

    sql: str
    literals: Mapping[str, Any]
    processors: Mapping[str, Processor]

    @classmethod
    def of(cls, statement: ClauseElement) -> DriverStatement:
        dialect = _dialect()
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        literals: dict[str, Any] = {}
        processors: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            if not bind.required:  # a value of the statement's own (a state, a limit)
                literals[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        return cls(compiled.string, literals, processors)

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> psycopg.Cursor[Any]:
        """Run the statement with ``parameters`` (and its literals); the driver's cursor."""
        bound = self.bound(parameters)
        with driver_errors(connection, self.sql, bound) as driver:
            cursor: psycopg.Cursor[Any] = driver.execute(self.sql, bound)
            return cursor

    def bound(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """What psycopg is given with :attr:`sql` for ``parameters``: the literals added,
        every value bound as its column binds it."""
        bound = {**self.literals, **parameters}
        for name, processor in self.processors.items():
            if name in bound:
                bound[name] = processor(bound[name])
        return bound


@contextmanager
def driver_errors(connection: Connection, statement: str, params: Any) -> Iterator[Any]:
    """The psycopg connection under ``connection``; its errors wrapped as SQLAlchemy's.

    A connection the error broke needs nothing more here: the rollback that follows fails
    on it, and SQLAlchemy invalidates it then (the thread opens a new one on next use).
    """
    error_class = connection.dialect.loaded_dbapi.Error  # psycopg's
    try:
        yield connection.connection.driver_connection
    except error_class as exc:
        raise sa_exc.DBAPIError.instance(statement, params, exc, error_class) from exc


@functools.cache
def _dialect() -> Dialect:
    """SQLAlchemy's psycopg dialect, made on first use (on PostgreSQL)."""
    dialect: Dialect = psycopg_dialect.dialect()  # type: ignore[no-untyped-call]
    return dialect
