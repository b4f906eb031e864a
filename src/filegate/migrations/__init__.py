"""Alembic migrations of the filegate database (run with ``filegate migrate``)."""
