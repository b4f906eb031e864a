"""pysqlite, opening each transaction with the statement its engine names.

SQLAlchemy's recipe for an explicit SQLite ``BEGIN`` is a ``begin`` event listener that runs
it with ``exec_driver_sql``: a whole statement execution of SQLAlchemy's (an execution
context, a cursor, a result) for every transaction, which cost more than the queue's own
statements. This dialect runs it in :meth:`~BeginningDialect.do_begin`, the driver call
SQLAlchemy makes to begin, where SQLAlchemy still wraps a driver error as its own
(``OperationalError`` …), as it does for any statement.

Engines choose it with the driver name :data:`DRIVERNAME` and ``begin=`` (e.g.
``"BEGIN IMMEDIATE"``) among ``create_engine``'s keywords.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

DRIVERNAME = "sqlite+filegate"


class BeginningDialect(SQLiteDialect_pysqlite):
    """pysqlite whose transactions begin with ``begin``; the connections must be in the
    driver's autocommit mode (``isolation_level = None``) so that it never begins one."""

    supports_statement_cache = True

    def __init__(self, begin: str = "BEGIN", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.begin_statement = begin

    def do_begin(self, dbapi_connection: Any) -> None:
        dbapi_connection.execute(self.begin_statement)


registry.register("sqlite.filegate", __name__, BeginningDialect.__name__)  # sqlite+filegate
