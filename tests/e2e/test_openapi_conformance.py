"""Schemathesis over the real server's OpenAPI document: every answer is documented.

One ``filegate serve`` of its own (so its rate limits and quotas are nobody else's) is
sent generated requests, valid and invalid, with a valid user token, for every operation
its document lists. Each answer must be no server error, have a documented status and
content type, and match the documented schema (for a problem: its status's code enum).
The number of examples per operation is bounded, and generation is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
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
    # An event stream answers until its maximum duration: a short one, so each generated
    # request to GET /v1/events gets its whole (finite) answer.
    env = {"FILEGATE_EVENT_STREAM_MAX_SECONDS": "1"}
    with running_server(tmp_path_factory.mktemp("conformance") / "data", env) as running:
        yield running


@pytest.fixture(scope="module")
def bearer(conformance_server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {conformance_server.token('conformance')}"}


@pytest.fixture(scope="module")
def served_schema(conformance_server: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{conformance_server.url}/openapi.json")


Operation = APIOperation[Any, Any, Any, Any]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_documented(
    served_schema: schemathesis.BaseSchema, bearer: dict[str, str], mode: GenerationMode
) -> None:
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}
    for operation in operations(served_schema):
        if mode is GenerationMode.NEGATIVE and not _takes_input(operation):
            continue  # nothing of it can be invalid
        try:
            statuses[operation.label] = _exercise(operation, mode, bearer)
        except Exception as exc:  # every operation runs; the report names each failing one
            failures[operation.label] = str(exc)
    assert failures == {}, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
    if mode is GenerationMode.POSITIVE:  # the token got through: authenticated reads succeeded
        assert 200 in statuses["GET /v1/usage"], statuses
        assert 200 in statuses["GET /v1/files"], statuses


def test_the_document_lists_every_operation_of_the_shape(
    served_schema: schemathesis.BaseSchema,
) -> None:
    labels = {operation.label for operation in operations(served_schema)}
    assert "POST /v1/files" in labels
    # Only the S3 store takes files in parts: the embedded document has no such route.
    assert not [label for label in labels if "/parts" in label]


def operations(schema: schemathesis.BaseSchema) -> list[Operation]:
    """Every operation of ``schema``; a definition schemathesis cannot read fails the test."""
    found: list[Operation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found


def _takes_input(operation: Operation) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def _exercise(operation: Operation, mode: GenerationMode, bearer: dict[str, str]) -> set[int]:
    """Send ``operation`` generated requests of ``mode``; the statuses it answered.

    Raises on the first failed check (after Hypothesis shrank the failing request).
    """
    seen: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def send(case: schemathesis.Case[Any]) -> None:
        response = case.call_and_validate(headers=bearer, checks=CHECKS, timeout=30)
        seen.add(response.status_code)

    send()
    return seen
