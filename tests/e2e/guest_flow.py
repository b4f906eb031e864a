"""Client-side steps of guest sessions and upload grants, over real HTTP."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from tests.e2e.flow import auth, register, upload
from tests.e2e.server import SECRET
from tests.support import images

_widths = itertools.count(32)


@dataclass(frozen=True)
class Session:
    id: str
    token: str


def open_session(http: httpx.Client, base: str) -> Session:
    response = http.post(f"{base}/v1/sessions")
    assert response.status_code == 201, response.text
    body = response.json()
    return Session(body["session"]["id"], body["token"])


def issue_grant(http: httpx.Client, base: str, token: str, uses: int = 20) -> dict[str, Any]:
    response = http.post(f"{base}/v1/upload-grants", json={"uses": uses}, headers=auth(token))
    assert response.status_code == 201, response.text
    grant: dict[str, Any] = response.json()
    return grant


def unique_jpeg() -> bytes:
    """A JPEG no other call returns: equal bytes of one owner would be deduplicated."""
    return images.jpeg_bytes(next(_widths), 24)


def stored_photo(
    http: httpx.Client, base: str, token: str, data: bytes | None = None
) -> dict[str, Any]:
    """Register ``data`` (default: a unique JPEG) and upload it; the local store commits
    the upload and enqueues its verification."""
    data = unique_jpeg() if data is None else data
    file = register(http, base, token, data)
    response = upload(http, file, data)
    assert response.status_code in (200, 201, 204), response.text
    return file


def user_token(user: str, lifetime: int = 3600) -> str:
    """A token for ``user`` signed with the servers' secret, as ``filegate token`` makes one
    (without a process per token); a negative ``lifetime`` gives an expired one."""
    now = int(time.time())
    claims = {
        "iss": "filegate",
        "sub": user,
        "iat": min(now, now + lifetime),
        "exp": now + lifetime,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def objects_named(data_dir: Path, file_id: str) -> list[Path]:
    """Every file under the data folder whose name mentions ``file_id`` (objects, temps)."""
    return [p for p in data_dir.rglob("*") if p.is_file() and file_id in p.name]


def query(data_dir: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of a read-only query against the embedded server's SQLite database."""
    uri = f"file:{data_dir / 'filegate.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as connection:
        return connection.execute(sql, args).fetchall()
