"""End to end: guest sessions end without leftovers, claims move exactly their files, session
creation is rate-limited, and a second device uploads through a grant."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from filegate.adapters.qr import SegnoQrCodes
from tests.e2e.flow import auth, register, wait_final
from tests.e2e.guest_flow import (
    issue_grant,
    objects_named,
    open_session,
    query,
    stored_photo,
    unique_jpeg,
    user_token,
    wait_until,
)
from tests.e2e.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

BASE_ENV = {
    "FILEGATE_BATCH_WINDOW_SECONDS": "0.2",
    "FILEGATE_DECODE_WORKERS": "1",
    "FILEGATE_SWEEP_INTERVAL_SECONDS": "0.3",
    "FILEGATE_PURGE_BATCH_SIZE": "2",
}
SHORT_TTL_SECONDS = 5
"""Long enough to upload a photo and claim the session before it expires, on a busy machine."""


QR = SegnoQrCodes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {**BASE_ENV, "FILEGATE_SESSION_RATE_PER_MINUTE": "0"}
    with running_server(tmp_path_factory.mktemp("sessions") / "data", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose guest sessions expire SHORT_TTL_SECONDS after they open."""
    env = {**BASE_ENV, "FILEGATE_SESSION_TTL_SECONDS": str(SHORT_TTL_SECONDS)}
    with running_server(tmp_path_factory.mktemp("short") / "data", env=env) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def file_rows(data_dir: Path, owner: str) -> list[tuple[str, str]]:
    return query(data_dir, "SELECT id, state FROM files WHERE owner = ? ORDER BY id", owner)


def stored_object(data_dir: Path, file_id: str) -> bool:
    """Whether the object of the file is in the store (its name is the file id)."""
    return any(p.name == file_id for p in objects_named(data_dir, file_id))


def purged(data_dir: Path, session_id: str) -> bool:
    rows = query(data_dir, "SELECT purged_at FROM sessions WHERE id = ?", session_id)
    return bool(rows) and rows[0][0] is not None


# --- logout --------------------------------------------------------------------------------


def test_logout_deletes_every_object_and_row_of_the_session_and_nothing_else(
    server: RunningServer, http: httpx.Client
) -> None:
    base = server.url
    guest, bystander = open_session(http, base), open_session(http, base)
    alice = user_token("alice-logout")
    mine = [stored_photo(http, base, guest.token) for _ in range(3)]
    mine.append(register(http, base, guest.token, unique_jpeg()))  # never uploaded
    theirs = [stored_photo(http, base, bystander.token), stored_photo(http, base, alice)]
    for file, token in zip(theirs, (bystander.token, alice), strict=True):
        assert wait_final(http, base, token, file["id"])["state"] == "ready"

    response = http.delete(f"{base}/v1/sessions/current", headers=auth(guest.token))

    assert response.status_code == 204
    after = http.get(f"{base}/v1/files", headers=auth(guest.token))
    assert (after.status_code, after.json()["code"]) == (401, "UNAUTHENTICATED")
    wait_until(lambda: purged(server.data_dir, guest.id), "the session is purged")
    for file in mine:
        assert objects_named(server.data_dir, file["id"]) == []
    assert {state for _, state in file_rows(server.data_dir, f"session:{guest.id}")} == {"deleted"}
    reasons = query(
        server.data_dir,
        "SELECT DISTINCT reason, actor FROM file_transitions WHERE to_state = 'deleted'"
        " AND file_id IN (SELECT id FROM files WHERE owner = ?)",
        f"session:{guest.id}",
    )
    assert reasons == [("SESSION_ENDED", "worker")]
    for file, token in zip(theirs, (bystander.token, alice), strict=True):
        assert stored_object(server.data_dir, file["id"])
        kept = http.get(f"{base}/v1/files/{file['id']}", headers=auth(token))
        assert kept.json()["state"] == "ready"


def test_a_logged_out_sessions_grant_stops_working(
    server: RunningServer, http: httpx.Client
) -> None:
    guest = open_session(http, server.url)
    grant = issue_grant(http, server.url, guest.token)

    http.delete(f"{server.url}/v1/sessions/current", headers=auth(guest.token))

    response = http.post(
        f"{server.url}/v1/files",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10},
        headers=auth(grant["token"]),
    )
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


# --- claim ---------------------------------------------------------------------------------


def test_claim_moves_exactly_the_sessions_files(server: RunningServer, http: httpx.Client) -> None:
    base, data = server.url, unique_jpeg()
    guest, bystander = open_session(http, base), open_session(http, base)
    alice = user_token("alice-claim")
    own = stored_photo(http, base, alice)
    mine = [
        stored_photo(http, base, guest.token, data),
        register(http, base, guest.token, unique_jpeg()),
    ]
    other = stored_photo(http, base, bystander.token)
    assert wait_final(http, base, guest.token, mine[0]["id"])["state"] == "ready"
    assert wait_final(http, base, bystander.token, other["id"])["state"] == "ready"

    response = http.post(
        f"{base}/v1/sessions/{guest.id}/claim",
        headers={**auth(alice), "X-Session-Token": guest.token},
    )

    assert response.status_code == 200, response.text
    assert sorted(response.json()["file_ids"]) == sorted(f["id"] for f in mine)
    listed = http.get(f"{base}/v1/files", headers=auth(alice)).json()["files"]
    assert sorted(f["id"] for f in listed) == sorted([own["id"], *(f["id"] for f in mine)])
    download = http.get(f"{base}/v1/files/{mine[0]['id']}/content", headers=auth(alice))
    assert download.status_code == 307
    assert http.get(download.headers["location"]).content == data
    gone = http.get(f"{base}/v1/files", headers=auth(guest.token))
    assert gone.status_code == 401
    assert http.get(f"{base}/v1/files/{other['id']}", headers=auth(alice)).status_code == 404
    assert file_rows(server.data_dir, f"session:{bystander.id}") == [(other["id"], "ready")]
    history = query(
        server.data_dir,
        "SELECT reason FROM file_transitions WHERE file_id = ? ORDER BY id DESC LIMIT 1",
        mine[1]["id"],
    )
    assert history == [("CLAIMED",)]


# --- upload grants ---------------------------------------------------------------------------


def test_a_second_device_uploads_through_a_grant_into_the_owners_files(
    server: RunningServer, http: httpx.Client
) -> None:
    base = server.url
    alice = user_token("alice-phone")
    grant = issue_grant(http, base, alice, uses=2)
    phone = grant["token"]

    file = stored_photo(http, base, phone)
    completed = http.post(f"{base}/v1/files/{file['id']}/complete", headers=auth(phone))
    stored_photo(http, base, phone)
    third = http.post(
        f"{base}/v1/files",
        json={"filename": "c.jpg", "content_type": "image/jpeg", "size": 10},
        headers=auth(phone),
    )

    assert completed.status_code == 202
    assert (third.status_code, third.json()["code"], third.json()["uses_left"]) == (
        403,
        "FORBIDDEN",
        0,
    )
    assert wait_final(http, base, alice, file["id"])["state"] == "ready"
    state = http.get(f"{base}/v1/upload-grants/{grant['grant']['id']}", headers=auth(alice))
    assert state.json()["grant"]["uses_left"] == 0
    assert re.fullmatch(rf"{re.escape(base)}/g/[2-9a-z]{{14}}", grant["url"])
    used_up = http.get(grant["url"], follow_redirects=False)
    assert (used_up.status_code, used_up.json()["code"]) == (410, "GRANT_ENDED")


def test_a_grant_cancels_its_unsent_files_but_never_deletes_a_sent_one(
    server: RunningServer, http: httpx.Client
) -> None:
    alice = user_token("alice-cancel")
    phone = issue_grant(http, server.url, alice, uses=2)["token"]
    unsent = register(http, server.url, phone, unique_jpeg())
    sent = stored_photo(http, server.url, phone)

    cancelled = http.delete(f"{server.url}/v1/files/{unsent['id']}", headers=auth(phone))
    refused = http.delete(f"{server.url}/v1/files/{sent['id']}", headers=auth(phone))

    assert cancelled.status_code == 204
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    gone = http.get(f"{server.url}/v1/files/{unsent['id']}", headers=auth(alice))
    assert gone.json()["state"] == "deleted"
    assert wait_final(http, server.url, alice, sent["id"])["state"] == "ready"


def test_a_grants_short_link_opens_the_page_with_its_token(
    server: RunningServer, http: httpx.Client
) -> None:
    alice = user_token("alice-short-link")
    grant = issue_grant(http, server.url, alice, uses=1)

    opened = http.get(grant["url"], follow_redirects=False)
    unknown = http.get(f"{server.url}/g/{'a' * 14}", follow_redirects=False)
    http.delete(f"{server.url}/v1/upload-grants/{grant['grant']['id']}", headers=auth(alice))
    revoked = http.get(grant["url"], follow_redirects=False)

    assert opened.status_code == 303
    assert opened.headers["location"] == f"/?grant={grant['token']}"
    assert opened.headers["cache-control"] == "no-store"
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert (unknown.status_code, unknown.json()["code"]) == (404, "GRANT_NOT_FOUND")
    assert (revoked.status_code, revoked.json()["code"]) == (410, "GRANT_ENDED")


def test_the_grants_qr_codes_and_revocation(server: RunningServer, http: httpx.Client) -> None:
    alice = user_token("alice-qr")
    grant = issue_grant(http, server.url, alice)

    png = http.get(server.url + grant["qr"]["png"], headers=auth(alice))
    svg = http.get(server.url + grant["qr"]["svg"], headers=auth(alice))
    revoked = http.delete(
        f"{server.url}/v1/upload-grants/{grant['grant']['id']}", headers=auth(alice)
    )
    after = http.post(
        f"{server.url}/v1/files",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10},
        headers=auth(grant["token"]),
    )

    assert (png.status_code, png.headers["content-type"], png.content[:8]) == (
        200,
        "image/png",
        b"\x89PNG\r\n\x1a\n",
    )
    assert png.headers["cache-control"] == "no-store"
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml")
    assert b"<svg" in svg.content
    # No QR decoder here: the images must be exactly those of the short link (and so are
    # not those of the token, which is another text).
    assert "/g/" in grant["url"]
    assert (svg.content, png.content) == (QR.svg(grant["url"]), QR.png(grant["url"]))
    assert revoked.status_code == 204
    assert (after.status_code, after.json()["code"]) == (401, "UNAUTHENTICATED")


# --- expiry (sessions that last seconds) and rate limits: servers of their own ------------


def test_an_expired_session_is_swept_and_purged(
    short_lived: RunningServer, http: httpx.Client
) -> None:
    guest = open_session(http, short_lived.url)
    file = stored_photo(http, short_lived.url, guest.token)

    wait_until(lambda: purged(short_lived.data_dir, guest.id), "the expired session is purged")

    expired = http.get(f"{short_lived.url}/v1/files", headers=auth(guest.token))
    assert expired.status_code == 401
    assert objects_named(short_lived.data_dir, file["id"]) == []
    ends = query(short_lived.data_dir, "SELECT end_reason FROM sessions WHERE id = ?", guest.id)
    assert ends == [("expired",)]
    assert file_rows(short_lived.data_dir, f"session:{guest.id}") == [(file["id"], "deleted")]


def test_a_claimed_session_is_never_purged(short_lived: RunningServer, http: httpx.Client) -> None:
    base = short_lived.url
    claimed = open_session(http, base)
    alice = user_token("alice-keeps")
    file = stored_photo(http, base, claimed.token)
    claim = http.post(
        f"{base}/v1/sessions/{claimed.id}/claim",
        headers={**auth(alice), "X-Session-Token": claimed.token},
    )
    assert claim.status_code == 200, claim.text
    # Opened later, so it expires later: once it is purged, the sweeps have passed the
    # claimed session's expiry too, and the worker has acted on what they sent.
    unclaimed = open_session(http, base)
    stored_photo(http, base, unclaimed.token)

    wait_until(lambda: purged(short_lived.data_dir, unclaimed.id), "the unclaimed one is purged")

    assert wait_final(http, base, alice, file["id"])["state"] == "ready"
    assert stored_object(short_lived.data_dir, file["id"])
    ended = query(
        short_lived.data_dir, "SELECT end_reason, purged_at FROM sessions WHERE id = ?", claimed.id
    )
    assert ended == [("claimed", None)]


def test_opening_sessions_is_rate_limited_per_address(tmp_path: Path) -> None:
    env = {**BASE_ENV, "FILEGATE_SESSION_RATE_PER_MINUTE": "3"}
    with running_server(tmp_path / "data", env=env) as limited, httpx.Client(timeout=30) as http:
        statuses, refused = _four_sessions_in_one_minute(http, limited.url)

    assert statuses == [201, 201, 201, 429]
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["limit"]) == ("RATE_LIMITED", 3)
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert refused.json()["retry_after"] == retry_after


def _four_sessions_in_one_minute(http: httpx.Client, base: str) -> tuple[list[int], httpx.Response]:
    """Four session requests within one fixed minute window (retried once if a minute
    boundary fell between them, which would reset the count)."""
    for _ in range(2):
        started = int(time.time()) // 60
        responses = [http.post(f"{base}/v1/sessions") for _ in range(4)]
        if int(time.time()) // 60 == started:
            break
    return [r.status_code for r in responses], responses[-1]
