"""The Hamming distance between perceptual hashes, as SQL both databases run.

Hashes are stored as signed ``BIGINT`` (:mod:`filegate.adapters.sql.file_columns`); the
distance counts the differing bits of the 64-bit patterns, sign bit included.

* PostgreSQL (14 or later): ``bit_count(CAST(a # b AS BIT(64)))``, the XOR of the two
  integers as a 64-bit string, its set bits counted, all in the server.
* SQLite has no bit count: :func:`register_sqlite_functions` gives every connection a
  deterministic function ``filegate_hamming64(a, b)``, computed in Python (registered on
  connect by :mod:`filegate.adapters.sql.database` and :mod:`filegate.adapters.sql.engine`).

Neither database can index a Hamming distance: the query reads the owner's READY files
with a hash (found through the ``(owner, created_at)`` index) and computes one distance
each, so its cost grows linearly with the owner's files.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, cast, func, literal
from sqlalchemy.dialects.postgresql import BIT

from filegate.domain.similarity import hamming_distance

SQLITE_FUNCTION = "filegate_hamming64"


def register_sqlite_functions(connection: sqlite3.Connection | Any) -> None:
    """Add ``filegate_hamming64`` to a SQLite DB-API connection (NULL in, NULL out)."""
    connection.create_function(SQLITE_FUNCTION, 2, _sqlite_hamming, deterministic=True)


def _sqlite_hamming(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else hamming_distance(a, b)


def hamming_sql(dialect: str, column: ColumnElement[Any], signed_hash: int) -> ColumnElement[int]:
    """SQL for the bits in which ``column`` differs from ``signed_hash`` (both ``BIGINT``)."""
    other = literal(signed_hash, BigInteger)
    if dialect == "postgresql":
        xor = column.op("#", return_type=BigInteger)(other)
        return func.bit_count(cast(xor, BIT(64)), type_=Integer)
    if dialect == "sqlite":
        call: ColumnElement[int] = getattr(func, SQLITE_FUNCTION)(column, other, type_=Integer)
        return call
    raise ValueError(f"no Hamming distance for the {dialect} dialect")
