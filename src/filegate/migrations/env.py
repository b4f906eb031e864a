"""Alembic environment: the URL comes from the caller's Config, never from a file."""

from alembic import context
from sqlalchemy import create_engine, pool

from filegate.adapters.sql.schema import metadata

config = context.config


def run_migrations_online() -> None:
    """Run the migrations over one connection to ``sqlalchemy.url``."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
