"""Real backing services for tests: skip when absent locally, fail under ``CI=true``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "FILEGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def require(service: str, available: bool, why: str = "") -> None:
    """Skip the test when ``service`` is missing; under CI a missing service is a failure."""
    if available:
        return
    message = f"{service} is not available{': ' + why if why else ''}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def postgres_reachable() -> tuple[bool, str]:
    """Whether the test PostgreSQL server answers, and why not."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return True, ""


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test PostgreSQL server."""
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def scratch_database(template: str | None = None) -> Iterator[str]:
    """A new, empty (or template-cloned) database that is dropped afterwards."""
    name = f"filegate_test_{uuid.uuid4().hex[:12]}"
    clause = f" TEMPLATE {template}" if template else ""
    _admin(f'CREATE DATABASE "{name}"{clause}')
    try:
        yield database_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
