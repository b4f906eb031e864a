"""Apply the Alembic migrations to a database, programmatically."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool

from filegate.adapters.sql.engine import ensure_parent_dir, is_sqlite, sync_url


def alembic_config(database_url: str) -> Config:
    """An Alembic ``Config`` for filegate's migrations against ``database_url``."""
    config = Config()
    config.set_main_option("script_location", "filegate:migrations")
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (idempotent: a current database is untouched)."""
    config = alembic_config(database_url)
    ensure_parent_dir(database_url)
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    with engine.begin() as connection:
        if is_sqlite(database_url):
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
