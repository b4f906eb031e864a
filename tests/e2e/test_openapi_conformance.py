"""Schemathesis over the real server's OpenAPI document: every answer is documented.

One ``filegate serve`` of its own (so its rate limits and quotas are nobody else's) is
sent generated requests, valid and invalid, with a valid user token, for every operation
its document lists. Each answer must be no server error, have a documented status and
content type, and match the documented schema (for a problem: its status's code enum).
The number of examples per operation is bounded, and generation is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("conformance") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def bearer(conformance_server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {conformance_server.token('conformance')}"}


@pytest.fixture(scope="module")
def served_schema(conformance_server: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{conformance_server.url}/openapi.json")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_documented(
    served_schema: schemathesis.BaseSchema, bearer: dict[str, str], mode: GenerationMode
) -> None:
    failures: dict[str, str] = {}
    for result in served_schema.get_all_operations():
        operation = result.ok()
        try:
            _exercise(operation, mode, bearer)
        except Exception as exc:  # every operation runs; the report names each failing one
            failures[operation.label] = str(exc)
    assert failures == {}, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())


def _exercise(operation: APIOperation, mode: GenerationMode, bearer: dict[str, str]) -> None:
    """Send ``operation`` generated requests of ``mode``; raise on the first failed check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def send(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=bearer, checks=CHECKS, timeout=30)

    send()


def test_the_document_lists_every_operation_of_the_shape(
    served_schema: schemathesis.BaseSchema,
) -> None:
    labels = {result.ok().label for result in served_schema.get_all_operations()}
    assert "POST /v1/files" in labels
    # Only the S3 store takes files in parts: the embedded document has no such route.
    assert not [label for label in labels if "/parts" in label]
