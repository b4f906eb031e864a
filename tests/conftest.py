"""Shared fixtures: migrated SQLite and PostgreSQL databases, one per test; moto's server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from filegate.adapters.sql.migrate import migrate
from tests.services import postgres_reachable, require, scratch_database
from tests.support.moto_server import fake_aws_environment, running_moto_server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database in the test's temporary folder."""
    url = f"sqlite:///{tmp_path / 'filegate.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database, created once per test session."""
    reachable, why = postgres_reachable()
    require("PostgreSQL", reachable, why)
    with scratch_database() as url:
        migrate(url)
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database for one test (cloned from the template)."""
    with scratch_database(template=postgres_template) as url:
        yield url


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Base URL ("http://127.0.0.1:PORT") of one moto server (S3, SQS, ...) for the session.

    Fake AWS credentials and ``AWS_DEFAULT_REGION=us-east-1`` are set in ``os.environ``
    while it runs. Tests share the server: create uniquely named buckets/queues per test.
    """
    with fake_aws_environment(), running_moto_server() as endpoint:
        yield endpoint
