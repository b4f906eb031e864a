"""A registration's statements on SQLite, as plain SQL (:mod:`filegate.adapters.sql.sqlite_plain`).

The INSERTs are SQLAlchemy's own statements, compiled once; the duplicate check is written
here because it names its index: without statistics SQLite's planner reads the owner's
files in ``ix_files_owner_created`` order to skip the sort, which visits every file of the
owner (a registration then cost more the more files its owner had), and a batch's check
scanned every READY file. ``INDEXED BY`` holds both to ``ix_files_owner_sha256``: the few
files of the owner with that hash.

PostgreSQL keeps the SQLAlchemy statements (its planner has statistics).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert

from filegate.adapters.sql.schema import file_transitions, files
from filegate.adapters.sql.sqlite_plain import PlainStatement, decoded
from filegate.domain.states import FileState

_COLUMNS = tuple(column.name for column in files.columns)
_OLDEST_READY = PlainStatement(
    f"SELECT {', '.join(_COLUMNS)} FROM files INDEXED BY ix_files_owner_sha256"  # noqa: S608
    " WHERE owner = :owner AND sha256 = :sha256 AND state = :state"
    " ORDER BY created_at, id LIMIT 1",
    files,
)
_READY_WITH_HASHES = PlainStatement(
    f"SELECT {', '.join(_COLUMNS)} FROM files INDEXED BY ix_files_owner_sha256"  # noqa: S608
    " WHERE owner IN (SELECT value FROM json_each(:owners))"
    " AND sha256 IN (SELECT value FROM json_each(:digests)) AND state = :state",
    files,
)
_HISTORY_COLUMNS = ("file_id", "from_state", "to_state", "reason", "actor", "at")
_INSERT_FILES = PlainStatement.of(insert(files), files, _COLUMNS)
_INSERT_HISTORY = PlainStatement.of(insert(file_transitions), file_transitions, _HISTORY_COLUMNS)


def oldest_ready(connection: Connection, owner: str, sha256: str) -> dict[str, Any] | None:
    """The columns of ``owner``'s oldest READY file with ``sha256`` (as SQLAlchemy reads
    them), or ``None``."""
    parameters = {"owner": owner, "sha256": sha256, "state": FileState.READY.value}
    rows = _OLDEST_READY.execute(connection, parameters).fetchall()
    return decoded(files, connection.dialect, _COLUMNS, rows[0]) if rows else None


def ready_with_hashes(
    connection: Connection, owners: Collection[str], digests: Collection[str]
) -> list[dict[str, Any]]:
    """The columns of every READY file of ``owners`` with one of ``digests`` (a batch's
    duplicate check; the caller pairs owners with their digests)."""
    parameters = {
        "owners": json.dumps(sorted(owners)),
        "digests": json.dumps(sorted(digests)),
        "state": FileState.READY.value,
    }
    rows = _READY_WITH_HASHES.execute(connection, parameters).fetchall()
    return [decoded(files, connection.dialect, _COLUMNS, row) for row in rows]


def insert_files(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``files`` rows given as mappings of every column."""
    _INSERT_FILES.executemany(connection, rows)


def insert_history(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``file_transitions`` rows given as mappings of every column but ``id``."""
    _INSERT_HISTORY.executemany(connection, rows)
