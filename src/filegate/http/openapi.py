"""The OpenAPI document lists every problem an operation can answer.

An operation's problem codes come from three places, gathered by :func:`problem_codes`:

* what its endpoint and each of its dependencies declare with :func:`may_fail_with`
  (``current_principal`` declares UNAUTHENTICATED, the permission checks FORBIDDEN, a route
  the codes of its service);
* what the framework answers by itself: VALIDATION_ERROR for an operation with parameters
  or a body, NOT_FOUND and METHOD_NOT_ALLOWED where a path parameter holding a ``/`` can
  lead to another path, REQUEST_TOO_LARGE for every ``/v1/`` path (the body limit);
* nothing else: a code reaches the document only through the status table of
  :mod:`filegate.http.problems`, so the document and the answers cannot disagree on it.

:func:`document_problems` writes them into a router's routes' ``responses`` as
``application/problem+json`` with the ``Problem`` schema, one entry per status, its
``code`` an enum of exactly the codes the operation can answer with that status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from filegate.domain.errors import ErrorCode
from filegate.http.problems import PROBLEM_JSON, STATUS, status_title

_Callable = TypeVar("_Callable", bound=Callable[..., Any])
_ERRORS = "__filegate_problem_codes__"
_PROBLEM_REF = "#/components/schemas/Problem"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": (
        "An RFC 9457 problem document with a stable `code` (see the README's error table). "
        "Some codes add context fields, e.g. `limit`, `usage`, `errors` or `retry_after`."
    ),
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string", "description": "The status's reason phrase."},
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "code": {
            "type": "string",
            "enum": sorted(code.value for code in STATUS),
            "description": "The stable machine code.",
        },
    },
    "additionalProperties": True,
}


def may_fail_with(*codes: ErrorCode) -> Callable[[_Callable], _Callable]:
    """Mark an endpoint or a dependency as answering these problem codes (cumulative)."""

    def mark(function: _Callable) -> _Callable:
        setattr(function, _ERRORS, (*declared_by(function), *codes))
        return function

    return mark


def declared_by(function: Callable[..., Any] | None) -> tuple[ErrorCode, ...]:
    """The codes ``function`` was marked with (none for an unmarked one)."""
    codes: tuple[ErrorCode, ...] = getattr(function, _ERRORS, ())
    return codes


def problem_codes(route: APIRoute) -> set[ErrorCode]:
    """Every problem code ``route`` can answer (see the module's docstring)."""
    codes = set(declared_by(route.endpoint))
    for dependant in _dependencies(route.dependant):
        codes.update(declared_by(dependant.call))
    if _has_parameters(route):
        codes.add(ErrorCode.VALIDATION_ERROR)
    if route.dependant.path_params:
        codes.update((ErrorCode.NOT_FOUND, ErrorCode.METHOD_NOT_ALLOWED))
    if route.path.startswith("/v1/"):
        codes.add(ErrorCode.REQUEST_TOO_LARGE)
    return codes


def problem_responses(codes: Iterable[ErrorCode]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes``: one ``application/problem+json`` per status."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(STATUS[code], []).append(code.value)
    return {
        status: _problem_response(status, sorted(names))
        for status, names in sorted(by_status.items())
    }


def document_problems(router: APIRouter) -> APIRouter:
    """Declare the problems of each documented route of ``router``; ``router`` itself.

    A response a route declares itself for a status (e.g. ``/readyz``'s own 503) is kept
    as it is. Idempotent: the routers of the package are shared by every app built.
    """
    for route in router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            route.responses = {**problem_responses(problem_codes(route)), **route.responses}
    return router


def add_problem_schema(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document define the ``Problem`` schema the routes refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", PROBLEM_SCHEMA)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_response(status: int, codes: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{code}`" for code in codes)
    schema = {
        "allOf": [
            {"$ref": _PROBLEM_REF},
            {"properties": {"status": {"enum": [status]}, "code": {"enum": codes}}},
        ]
    }
    return {
        "description": f"{status_title(status)}: {listed}.",
        "content": {PROBLEM_JSON: {"schema": schema}},
    }


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _has_parameters(route: APIRoute) -> bool:
    dependant = route.dependant
    direct = (dependant.path_params, dependant.query_params, dependant.header_params)
    nested = ((d.path_params, d.query_params, d.header_params) for d in _dependencies(dependant))
    params = [*direct, *(group for triple in nested for group in triple)]
    return route.body_field is not None or any(params)
