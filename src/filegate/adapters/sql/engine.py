"""filegate database URLs: which database, and the driver URL SQLAlchemy needs for it.

The connections themselves are :mod:`filegate.adapters.sql.database`'s.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def sync_url(url: str) -> str:
    """The synchronous driver URL for the same database (used by Alembic).

    ``sqlite:///x.db`` stays as it is; ``postgresql://`` gets psycopg.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _SYNC_DRIVERS:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername!r}")
    return parsed.set(drivername=_SYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_parent_dir(url: str) -> None:
    """Create the folder of a SQLite database file (no-op for other databases)."""
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
