"""End to end through the real ``filegate serve``: retention and the lifecycle sweep,
deduplication, quotas, history, and ``filegate reconcile`` repairing what it is given.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind
from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.server import SECRET, RunningServer, run_command, running_server
from tests.support import images

pytestmark = pytest.mark.e2e

ENV = {
    "FILEGATE_BATCH_WINDOW_SECONDS": "0.2",
    "FILEGATE_DECODE_WORKERS": "1",
    "FILEGATE_LIFECYCLE_INTERVAL_SECONDS": "0.3",
    "FILEGATE_RECONCILE_INTERVAL_SECONDS": "0",  # `filegate reconcile` is run by hand here
    "FILEGATE_RECONCILE_ORPHAN_GRACE_SECONDS": "60",
    "FILEGATE_QUOTA_MAX_PENDING": "3",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("lifecycle") / "data", env=ENV) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def user_token(user: str) -> str:
    """A user's token, minted here with the servers' secret (no process to start)."""
    authority = TokenAuthority(SECRET, SystemClock())
    return authority.mint(Owner(OwnerKind.USER, user), timedelta(hours=1))


def ready_file(
    http: httpx.Client, server: RunningServer, token: str, data: bytes
) -> dict[str, Any]:
    file = register(http, server.url, token, data)
    assert upload(http, file, data).status_code == 200
    final = wait_final(http, server.url, token, file["id"])
    assert final["state"] == "ready", final
    return final


def patch(http: httpx.Client, server: RunningServer, token: str, file_id: str, body: Any) -> Any:
    response = http.patch(f"{server.url}/v1/files/{file_id}", json=body, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def state_of(http: httpx.Client, server: RunningServer, token: str, file_id: str) -> str:
    response = http.get(f"{server.url}/v1/files/{file_id}", headers=auth(token))
    state: str = response.json()["state"]
    return state


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def object_path(server: RunningServer, owner: str, file_id: str) -> Path:
    owner_hash = hashlib.sha256(owner.encode()).hexdigest()[:16]
    return server.data_dir / "objects" / owner_hash / file_id


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_the_lifecycle_deletes_files_past_their_deadline_and_keeps_pinned_ones(
    server: RunningServer, http: httpx.Client
) -> None:
    token = user_token("erin")
    doomed = ready_file(http, server, token, images.jpeg_bytes(41, 31))
    pinned = ready_file(http, server, token, images.jpeg_bytes(31, 41))
    kept = ready_file(http, server, token, images.jpeg_bytes(33, 33))
    # The pinned file's deadline comes first: the sweep that deletes the doomed file has
    # passed it too.
    patch(http, server, token, pinned["id"], {"retain_until": soon(1.5), "pinned": True})
    patch(http, server, token, doomed["id"], {"retain_until": soon(1.5)})
    shown = patch(http, server, token, kept["id"], {"retain_until": soon(3600)})
    assert shown["retain_until"] is not None and shown["pinned"] is False

    wait_until(lambda: state_of(http, server, token, doomed["id"]) == "deleted", "the lifecycle")

    assert not object_path(server, "user:erin", doomed["id"]).exists()
    for survivor in (pinned, kept):
        assert state_of(http, server, token, survivor["id"]) == "ready"
        assert object_path(server, "user:erin", survivor["id"]).exists()
    history = http.get(f"{server.url}/v1/files/{doomed['id']}/history", headers=auth(token))
    last = history.json()["transitions"][-1]
    assert (last["from"], last["to"], last["reason"], last["actor"]) == (
        "ready",
        "deleted",
        "RETENTION_EXPIRED",
        "lifecycle",
    )


def test_known_bytes_are_deduplicated_for_their_owner_only(
    server: RunningServer, http: httpx.Client
) -> None:
    frank, grace = user_token("frank"), user_token("grace")
    data = images.jpeg_bytes(52, 37)
    first = ready_file(http, server, frank, data)

    again = register(http, server.url, frank, data)
    theirs = register(http, server.url, grace, data)

    assert (again["id"], again["state"], again["deduplicated"], again["upload"]) == (
        first["id"],
        "ready",
        True,
        None,
    )
    assert (theirs["deduplicated"], theirs["state"]) == (False, "registered")
    assert theirs["id"] != first["id"] and theirs["upload"] is not None


def test_pending_registrations_are_limited_per_owner(
    server: RunningServer, http: httpx.Client
) -> None:
    token = user_token("quentin")
    for size in (10, 11, 12):
        register(http, server.url, token, b"x" * size, sha256=None)
    body = {"filename": "d.jpg", "content_type": "image/jpeg", "size": 13}
    refused = http.post(f"{server.url}/v1/files", json=body, headers=auth(token))

    assert refused.status_code == 429
    problem = refused.json()
    assert (problem["code"], problem["quota"], problem["limit"], problem["usage"]) == (
        "TOO_MANY_PENDING",
        "pending",
        3,
        3,
    )
    usage = http.get(f"{server.url}/v1/usage", headers=auth(token)).json()
    assert usage["usage"] == {"pending": 3, "files": 3, "bytes": 33}


def test_reconcile_repairs_an_orphan_and_a_missing_object(
    server: RunningServer, http: httpx.Client
) -> None:
    token = user_token("rita")
    lost = ready_file(http, server, token, images.jpeg_bytes(61, 17))
    object_path(server, "user:rita", lost["id"]).unlink()  # the store lost the bytes
    orphan = object_path(server, "user:nobody", "e" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"bytes no file owns")
    hour_ago = time.time() - 3600
    os.utime(orphan, (hour_ago, hour_ago))

    output = run_command(server.data_dir, ENV, "reconcile")

    assert _count(output, "orphans deleted") == 1
    assert _count(output, "missing objects") == 1
    assert not orphan.exists()
    assert state_of(http, server, token, lost["id"]) == "deleted"


def _count(table: str, action: str) -> int:
    """The count printed next to ``action`` in the reconcile table."""
    for line in table.splitlines():
        if action in line:
            return int(line.replace("│", " ").split()[-1])
    raise AssertionError(f"{action!r} not in:\n{table}")
