"""The isolation matrix: every endpoint of API v1 against every kind of caller, exactly.

Callers (columns): user A, user B, guest session S, upload grant G issued by A, an expired
token (of A), and no token at all. Each cell is the exact answer: a status, and for a
problem its code. Files named in paths belong to A unless the name says otherwise.

Targets that an answer would use up (a file deleted, a session claimed or logged out, a
grant revoked) are made afresh for each cell: ``{a_fresh}``, ``{s_fresh}``,
``{grant_fresh}``. Everything else is shared by the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.e2e.flow import auth, register, wait_final
from tests.e2e.guest_flow import (
    Session,
    issue_grant,
    open_session,
    stored_photo,
    unique_jpeg,
    user_token,
)
from tests.e2e.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

CALLERS = ("A", "B", "S", "G", "expired", "none")

PHOTO = {"filename": "m.jpg", "content_type": "image/jpeg", "size": 10}
OK_USERS = ("200", "200", "200", "403 FORBIDDEN", "401 UNAUTHENTICATED", "401 UNAUTHENTICATED")
NOT_OURS = "404 FILE_NOT_FOUND"
NO_GRANT = "404 GRANT_NOT_FOUND"
NO_SESSION = "404 SESSION_NOT_FOUND"
FORBIDDEN = "403 FORBIDDEN"
UNAUTH = "401 UNAUTHENTICATED"
NO_PARTS = "404 NOT_FOUND"  # this store takes no multipart uploads: its routes are not mounted


@dataclass(frozen=True)
class Call:
    """One endpoint, with ``{placeholders}`` in its path, body and headers."""

    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    session_caller_is_fresh: bool = False
    """S acts with a fresh session's token (the call ends the session it is made with)."""


#: endpoint → answers of (A, B, S, G, expired, none)
MATRIX: dict[str, tuple[Call, tuple[str, ...]]] = {
    # --- files -------------------------------------------------------------------------------
    "register": (
        Call("POST", "/v1/files", PHOTO),
        ("201", "201", "201", "201", UNAUTH, UNAUTH),
    ),
    "register a batch": (
        Call("POST", "/v1/files/batch", {"files": [PHOTO]}),
        ("201", "201", "201", "201", UNAUTH, UNAUTH),
    ),
    "list": (Call("GET", "/v1/files"), OK_USERS),
    "get A's file": (
        Call("GET", "/v1/files/{a_ready}"),
        ("200", NOT_OURS, NOT_OURS, NOT_OURS, UNAUTH, UNAUTH),
    ),
    "get S's file": (
        Call("GET", "/v1/files/{s_file}"),
        (NOT_OURS, NOT_OURS, "200", NOT_OURS, UNAUTH, UNAUTH),
    ),
    "get a file G registered": (
        Call("GET", "/v1/files/{g_file}"),
        ("200", NOT_OURS, NOT_OURS, "200", UNAUTH, UNAUTH),
    ),
    "long-poll a file G registered": (
        Call("GET", "/v1/files/{g_file}?wait=1"),
        ("200", NOT_OURS, NOT_OURS, "200", UNAUTH, UNAUTH),
    ),
    "long-poll A's file": (
        Call("GET", "/v1/files/{a_ready}?wait=1"),
        ("200", NOT_OURS, NOT_OURS, NOT_OURS, UNAUTH, UNAUTH),
    ),
    "download A's file": (
        Call("GET", "/v1/files/{a_ready}/content"),
        ("307", NOT_OURS, NOT_OURS, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "preview of A's file": (
        Call("GET", "/v1/files/{a_ready}/preview"),
        ("307", NOT_OURS, NOT_OURS, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "fresh upload URL": (
        Call("POST", "/v1/files/{a_registered}/upload-url"),
        ("200", NOT_OURS, NOT_OURS, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "complete A's own file": (
        Call("POST", "/v1/files/{a_ready}/complete"),
        ("202", NOT_OURS, NOT_OURS, NOT_OURS, UNAUTH, UNAUTH),
    ),
    "complete a file G registered": (
        Call("POST", "/v1/files/{g_file}/complete"),
        ("202", NOT_OURS, NOT_OURS, "202", UNAUTH, UNAUTH),
    ),
    "delete": (
        Call("DELETE", "/v1/files/{a_fresh}"),
        ("204", NOT_OURS, NOT_OURS, NOT_OURS, UNAUTH, UNAUTH),
    ),
    "delete an unsent file G registered": (
        Call("DELETE", "/v1/files/{g_fresh}"),
        ("204", NOT_OURS, NOT_OURS, "204", UNAUTH, UNAUTH),
    ),
    "history": (
        Call("GET", "/v1/files/{a_ready}/history"),
        ("200", NOT_OURS, NOT_OURS, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "pin": (
        Call("PATCH", "/v1/files/{a_ready}", {"pinned": True}),
        ("200", NOT_OURS, NOT_OURS, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "pin a batch": (
        Call("PATCH", "/v1/files", {"files": [{"id": "{a_ready}", "pinned": True}]}),
        OK_USERS,
    ),
    "usage": (Call("GET", "/v1/usage"), OK_USERS),
    "events": (Call("GET", "/v1/events"), OK_USERS),
    "sign parts": (
        Call("POST", "/v1/files/{a_registered}/parts", {"part_numbers": [1]}),
        (NO_PARTS,) * 6,
    ),
    "list parts": (
        Call("GET", "/v1/files/{a_registered}/parts"),
        (NO_PARTS,) * 6,
    ),
    "complete parts": (
        Call(
            "POST",
            "/v1/files/{a_registered}/parts/complete",
            {"parts": [{"number": 1, "etag": "e"}]},
        ),
        (NO_PARTS,) * 6,
    ),
    # --- sessions ----------------------------------------------------------------------------
    "open a session": (
        Call("POST", "/v1/sessions"),
        ("201", "201", "201", "201", "201", "201"),
    ),
    "log out": (
        Call("DELETE", "/v1/sessions/current", session_caller_is_fresh=True),
        (FORBIDDEN, FORBIDDEN, "204", FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "claim with the session's token": (
        Call(
            "POST",
            "/v1/sessions/{s_fresh}/claim",
            headers={"X-Session-Token": "{s_fresh_token}"},
        ),
        ("200", "200", FORBIDDEN, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "claim with another session's token": (
        Call("POST", "/v1/sessions/{s_fresh}/claim", headers={"X-Session-Token": "{s_token}"}),
        (NO_SESSION, NO_SESSION, FORBIDDEN, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "claim without a session token": (
        Call("POST", "/v1/sessions/{s_fresh}/claim"),
        ("422 VALIDATION_ERROR", "422 VALIDATION_ERROR", FORBIDDEN, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    # --- upload grants -----------------------------------------------------------------------
    "issue a grant": (
        Call("POST", "/v1/upload-grants", {"uses": 1}),
        ("201", "201", "201", FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "get A's grant": (
        Call("GET", "/v1/upload-grants/{grant}"),
        ("200", NO_GRANT, NO_GRANT, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "QR code as PNG": (
        Call("GET", "/v1/upload-grants/{grant}/qr.png"),
        ("200", NO_GRANT, NO_GRANT, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "QR code as SVG": (
        Call("GET", "/v1/upload-grants/{grant}/qr.svg"),
        ("200", NO_GRANT, NO_GRANT, FORBIDDEN, UNAUTH, UNAUTH),
    ),
    "revoke": (
        Call("DELETE", "/v1/upload-grants/{grant_fresh}"),
        ("204", NO_GRANT, NO_GRANT, FORBIDDEN, UNAUTH, UNAUTH),
    ),
}

CELLS = [
    pytest.param(name, caller, id=f"{name} | {caller}") for name in MATRIX for caller in CALLERS
]


@dataclass
class World:
    """The shared callers and targets."""

    server: RunningServer
    http: httpx.Client
    tokens: dict[str, str | None]
    targets: dict[str, str]

    @property
    def base(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {
        "FILEGATE_BATCH_WINDOW_SECONDS": "0.2",
        "FILEGATE_SESSION_RATE_PER_MINUTE": "0",
        "FILEGATE_EVENT_STREAM_MAX_SECONDS": "0.5",  # a 200 stream ends, so its cell is read
    }
    data_dir = tmp_path_factory.mktemp("matrix") / "data"
    with running_server(data_dir, env=env) as server, httpx.Client(timeout=30) as http:
        yield _world(server, http)


def _world(server: RunningServer, http: httpx.Client) -> World:
    base = server.url
    alice, bob = user_token("matrix-a"), user_token("matrix-b")
    session = open_session(http, base)
    grant = issue_grant(http, base, alice, uses=100)
    ready = stored_photo(http, base, alice)
    g_file = stored_photo(http, base, grant["token"])
    assert wait_final(http, base, alice, ready["id"])["state"] == "ready"
    tokens: dict[str, str | None] = {
        "A": alice,
        "B": bob,
        "S": session.token,
        "G": grant["token"],
        "expired": user_token("matrix-a", lifetime=-60),
        "none": None,
    }
    targets = {
        "a_ready": ready["id"],
        "a_registered": register(http, base, alice, unique_jpeg())["id"],
        "s_file": register(http, base, session.token, unique_jpeg())["id"],
        "g_file": g_file["id"],
        "grant": grant["grant"]["id"],
        "s_token": session.token,
    }
    return World(server, http, tokens, targets)


class Cell:
    """Fills one cell's placeholders, making fresh targets on first use."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._values = dict(world.targets)
        self._fresh: Session | None = None

    def fill(self, template: Any) -> Any:
        if isinstance(template, str):
            return re.sub(r"\{(\w+)\}", lambda m: self.value(m.group(1)), template)
        if isinstance(template, dict):
            return {key: self.fill(value) for key, value in template.items()}
        if isinstance(template, list):
            return [self.fill(item) for item in template]
        return template

    def value(self, name: str) -> str:
        if name not in self._values:
            self._values[name] = self._make(name)
        return self._values[name]

    def fresh_session(self) -> Session:
        if self._fresh is None:
            self._fresh = open_session(self._world.http, self._world.base)
        return self._fresh

    def _make(self, name: str) -> str:
        w, alice = self._world, self._world.tokens["A"]
        assert alice is not None
        if name == "a_fresh":
            return str(register(w.http, w.base, alice, unique_jpeg())["id"])
        if name == "g_fresh":
            return str(register(w.http, w.base, str(w.tokens["G"]), unique_jpeg())["id"])
        if name == "grant_fresh":
            return str(issue_grant(w.http, w.base, alice, uses=1)["grant"]["id"])
        if name == "s_fresh":
            return self.fresh_session().id
        if name == "s_fresh_token":
            return self.fresh_session().token
        raise KeyError(name)


def answer(response: httpx.Response) -> str:
    """``"200"`` for a success, ``"404 FILE_NOT_FOUND"`` for a problem."""
    if response.status_code < 400:
        return str(response.status_code)
    assert response.headers["content-type"] == "application/problem+json", response.text
    return f"{response.status_code} {response.json()['code']}"


@pytest.mark.parametrize(("name", "caller"), CELLS)
def test_every_endpoint_answers_every_caller_exactly(world: World, name: str, caller: str) -> None:
    call, answers = MATRIX[name]
    cell = Cell(world)
    token = world.tokens[caller]
    if caller == "S" and call.session_caller_is_fresh:
        token = cell.fresh_session().token
    headers = {**(auth(token) if token else {}), **cell.fill(call.headers)}

    response = world.http.request(
        call.method,
        world.base + cell.fill(call.path),
        json=cell.fill(call.body),
        headers=headers,
    )

    assert answer(response) == answers[CALLERS.index(caller)], response.text


def test_the_matrix_covers_every_route_of_api_v1(world: World) -> None:
    spec = world.http.get(f"{world.base}/openapi.json").json()
    routes = {
        (method.upper(), re.sub(r"\{\w+\}", "{}", path))
        for path, operations in spec["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    }
    covered = {
        (call.method, re.sub(r"\{\w+\}", "{}", call.path.split("?")[0]))
        for call, _ in MATRIX.values()
    }
    assert routes - covered == set()
