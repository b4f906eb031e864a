"""End to end, on both shapes: a guest session's end deletes its objects and rows, and
nothing of anyone else's; a session opened on one API process ends on another."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.e2e.flow import auth, wait_final
from tests.e2e.guest_flow import open_session, query, stored_photo, user_token, wait_until
from tests.e2e.shapes import Distributed, Embedded, Shape

pytestmark = pytest.mark.e2e


def _rows(shape: Shape, sql: str, *args: str) -> list[tuple[object, ...]]:
    """Rows of a query against the shape's database (``?`` placeholders)."""
    if isinstance(shape, Embedded):
        return query(shape.data_dir, sql, *args)
    assert isinstance(shape, Distributed)
    url = shape.env["FILEGATE_DATABASE_URL"]
    with psycopg.connect(url) as connection:
        return list(connection.execute(sql.replace("?", "%s"), args).fetchall())


def _purged(shape: Shape, session_id: str) -> bool:
    rows = _rows(shape, "SELECT purged_at FROM sessions WHERE id = ?", session_id)
    return bool(rows) and rows[0][0] is not None


def test_logout_on_any_process_deletes_the_sessions_objects_and_rows_only(shape: Shape) -> None:
    first, last = shape.urls[0], shape.urls[-1]
    with httpx.Client(timeout=30) as http:
        guest, bystander = open_session(http, first), open_session(http, first)
        alice = user_token("alice-shapes")
        mine = [stored_photo(http, first, guest.token) for _ in range(3)]
        theirs = [stored_photo(http, first, bystander.token), stored_photo(http, first, alice)]
        for file in mine:
            assert wait_final(http, first, guest.token, file["id"])["state"] == "ready"
        for file, token in zip(theirs, (bystander.token, alice), strict=True):
            assert wait_final(http, first, token, file["id"])["state"] == "ready"

        logout = http.delete(f"{last}/v1/sessions/current", headers=auth(guest.token))
        refused = http.get(f"{first}/v1/files", headers=auth(guest.token))

        assert logout.status_code == 204
        assert refused.status_code == 401
        wait_until(lambda: _purged(shape, guest.id), "the session is purged", timeout=60)
        for file in mine:
            assert shape.stored_objects(file["id"]) == []
        states = _rows(shape, "SELECT state FROM files WHERE owner = ?", f"session:{guest.id}")
        assert sorted(states) == [("deleted",)] * 3
        for file, token in zip(theirs, (bystander.token, alice), strict=True):
            assert shape.stored_objects(file["id"]) != []
            kept = http.get(f"{last}/v1/files/{file['id']}", headers=auth(token))
            assert kept.json()["state"] == "ready"
