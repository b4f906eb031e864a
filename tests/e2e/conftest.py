"""The deployments the end-to-end suite runs against, and an HTTP client.

``shape`` runs a test on both shapes: ``embedded`` (one ``filegate serve``: SQLite, local
folder, table queue) and ``distributed`` (PostgreSQL, S3 and SQS on moto, two API
processes and two worker processes, provisioned by ``filegate setup``). Tests of what only
the local store enforces (signatures, lengths, checksums while streaming) use ``embedded``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.shapes import Distributed, Embedded, Shape, running_distributed, running_embedded
from tests.e2e.webhooks import endpoint, hooks_env
from tests.services import postgres_reachable, require, scratch_database
from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[Receiver]:
    """The receiver both shapes deliver every event to (tests pick out their own files)."""
    with running_receiver() as receiver:
        yield receiver


def _webhooks_to(receiver: Receiver) -> dict[str, str]:
    return hooks_env(endpoint("everything", receiver))


@pytest.fixture(scope="session")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, webhook_receiver: Receiver
) -> Iterator[Embedded]:
    data_dir = tmp_path_factory.mktemp("embedded") / "data"
    with running_embedded(data_dir, _webhooks_to(webhook_receiver)) as running:
        yield running


@pytest.fixture(scope="session")
def distributed(
    tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str, webhook_receiver: Receiver
) -> Iterator[Distributed]:
    reachable, why = postgres_reachable()
    require("PostgreSQL", reachable, why)
    data_dir = tmp_path_factory.mktemp("distributed") / "data"
    hooks = _webhooks_to(webhook_receiver)
    with (
        scratch_database() as database_url,
        running_distributed(data_dir, database_url, moto_endpoint, extra=hooks) as running,
    ):
        yield running


@pytest.fixture(params=["embedded", "distributed"])
def shape(request: pytest.FixtureRequest) -> Shape:
    """Each deployment shape in turn."""
    deployment: Shape = request.getfixturevalue(request.param)
    return deployment


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client
