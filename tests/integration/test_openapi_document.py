"""The OpenAPI document of the real app (embedded shape, in-process): every operation names
its problems as ``application/problem+json``, with codes from the one status table."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from filegate.domain.errors import ErrorCode
from filegate.http.problems import PROBLEM_JSON, STATUS
from tests.integration.test_app_inprocess import (  # the autouse fixture clears FILEGATE_*
    Api,
    no_filegate_environment,  # noqa: F401
    running_api,
)

Operation = dict[str, Any]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path / "data") as running:
        yield running


@pytest.fixture
async def spec(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = (await api.client.get("/openapi.json")).json()
    return document


def operations(spec: dict[str, Any]) -> dict[str, Operation]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


def problem_codes(operation: Operation, status: int) -> list[str]:
    """The codes the operation declares for ``status``."""
    schema = operation["responses"][str(status)]["content"][PROBLEM_JSON]["schema"]
    codes: list[str] = schema["allOf"][1]["properties"]["code"]["enum"]
    return codes


def test_the_problem_schema_has_the_rfc_fields_and_every_code(spec: dict[str, Any]) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail", "code"]
    assert set(problem["properties"]["code"]["enum"]) == {code.value for code in ErrorCode}


def test_every_error_response_is_a_problem_whose_codes_have_its_status(
    spec: dict[str, Any],
) -> None:
    for name, operation in operations(spec).items():
        for status, response in operation["responses"].items():
            if int(status) < 400 or name == "GET /readyz":
                continue
            assert list(response["content"]) == [PROBLEM_JSON], (name, status)
            for code in problem_codes(operation, int(status)):
                assert STATUS[ErrorCode(code)] == int(status), (name, code)


def test_authenticated_operations_declare_401_and_403(spec: dict[str, Any]) -> None:
    open_ones = {"GET /healthz", "GET /readyz", "POST /v1/sessions", "GET /g/{code}"}
    for name, operation in operations(spec).items():
        if name in open_ones:
            assert "401" not in operation["responses"], name
            continue
        assert problem_codes(operation, 401) == ["UNAUTHENTICATED"], name
        assert problem_codes(operation, 403) == ["FORBIDDEN"], name


def test_an_operation_lists_its_own_codes_beside_the_common_ones(spec: dict[str, Any]) -> None:
    register = operations(spec)["POST /v1/files"]
    assert problem_codes(register, 413) == ["FILE_TOO_LARGE", "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE"]
    assert problem_codes(register, 422) == ["EMPTY_FILE", "VALIDATION_ERROR"]
    assert problem_codes(register, 503) == ["UNAVAILABLE"]
    download = operations(spec)["GET /v1/files/{file_id}/content"]
    assert problem_codes(download, 404) == ["FILE_NOT_FOUND", "NOT_FOUND"]
    assert problem_codes(download, 405) == ["METHOD_NOT_ALLOWED"]
    assert problem_codes(operations(spec)["POST /v1/sessions"], 429) == ["RATE_LIMITED"]


def test_no_operation_keeps_fastapis_json_validation_error(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_a_declared_problem_matches_the_answer(api: Api, spec: dict[str, Any]) -> None:
    response: httpx.Response = await api.client.get("/v1/files/nope", headers=api.auth)
    assert response.status_code == 404
    assert response.json()["code"] in problem_codes(
        operations(spec)["GET /v1/files/{file_id}"], 404
    )


async def test_the_docs_page_loads_only_its_own_files(api: Api) -> None:
    page = await api.client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "http" not in policy  # no other origin is allowed anything
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/docs/assets/") for source in sources)
    for source in sources:
        asset = await api.client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["content-security-policy"] == policy


async def test_a_docs_asset_revalidates_and_an_unknown_one_is_not_found(api: Api) -> None:
    bundle = await api.client.get("/docs/assets/swagger-ui-bundle.js")
    again = await api.client.get(
        "/docs/assets/swagger-ui-bundle.js", headers={"If-None-Match": bundle.headers["etag"]}
    )
    assert again.status_code == 304
    missing = await api.client.get("/docs/assets/nope.js")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")


def test_the_list_documents_similar_to_with_its_bounds_and_problems(spec: dict[str, Any]) -> None:
    listing = operations(spec)["GET /v1/files"]
    parameters = {p["name"]: p["schema"] for p in listing["parameters"]}
    distance = next(s for s in parameters["max_distance"]["anyOf"] if s["type"] == "integer")
    assert (distance["minimum"], distance["maximum"]) == (0, 64)
    assert "similar_to" in parameters
    assert problem_codes(listing, 404) == ["FILE_NOT_FOUND"]
    assert problem_codes(listing, 409) == ["NOT_READY"]


def test_the_file_schema_names_facts_print_and_renditions(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    file_fields = set(schemas["FileOut"]["properties"])
    assert {"image", "placeholder", "renditions", "print", "print_fitness", "distance"} <= (
        file_fields
    )
    assert {"display_width", "display_height", "has_location", "dpi"} <= set(
        schemas["ImageOut"]["properties"]
    )
    assert schemas["PrintFitnessOut"]["properties"]["verdict"]["$ref"].endswith("PrintVerdict")
    assert schemas["PrintVerdict"]["enum"] == ["good", "low", "too_low"]
