"""Webhooks end to end: real filegate processes deliver to a real receiver on loopback.

Signatures are checked with the ``standardwebhooks`` package. The schedule is shortened
by settings (``FILEGATE_WEBHOOK_RETRY_DELAYS_SECONDS``) so that retries happen within a
test; the default schedule itself is unit-tested.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.flow import auth, register, upload, wait_final
from tests.e2e.server import run_command, running_server
from tests.e2e.shapes import Shape
from tests.e2e.webhooks import NEW_SECRET, OLD_SECRET, endpoint, hooks_env
from tests.support import images
from tests.support.webhook_receiver import (
    Answer,
    Receiver,
    Request,
    running_receiver,
)

pytestmark = pytest.mark.e2e


def of_files(requests: list[Request], file_ids: set[str]) -> list[Request]:
    return [r for r in requests if r.document.get("data", {}).get("id") in file_ids]


def ready_file(http: httpx.Client, base: str, token: str) -> dict[str, Any]:
    data = images.jpeg_bytes(96, 64)
    file = register(http, base, token, data)
    assert upload(http, file, data).status_code == 200
    return wait_final(http, base, token, file["id"])


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def test_each_state_change_is_delivered_signed_with_every_secret(
    shape: Shape, http: httpx.Client, webhook_receiver: Receiver
) -> None:
    user = f"hooks-{uuid.uuid4().hex[:8]}"
    token, base = shape.token(user=user), shape.urls[0]
    ready = ready_file(http, base, token)
    junk = b"not an image at all" * 10
    bad = register(http, base, token, junk)
    assert upload(http, bad, junk).status_code == 200
    assert wait_final(http, base, token, bad["id"])["state"] == "rejected"
    gone = ready_file(http, base, token)
    assert http.delete(f"{base}/v1/files/{gone['id']}", headers=auth(token)).status_code == 204
    expected = {
        ("file.ready", ready["id"]),
        ("file.rejected", bad["id"]),
        ("file.ready", gone["id"]),
        ("file.deleted", gone["id"]),
    }
    ours = {ready["id"], bad["id"], gone["id"]}

    requests = webhook_receiver.wait_for(
        lambda seen: (
            {(r.document["type"], r.document["data"]["id"]) for r in of_files(seen, ours)}
            >= expected
        )
    )

    mine = of_files(requests, ours)
    assert {(r.document["type"], r.document["data"]["id"]) for r in mine} == expected
    for request in mine:
        for secret in (OLD_SECRET, NEW_SECRET):
            verified = Webhook(secret).verify(request.body, request.headers)
            assert verified["type"] == request.document["type"]
        assert request.headers["webhook-id"].startswith("evt_")
        assert request.document["data"]["upload"] is None  # never a signed URL
    by_id = {(r.document["type"], r.document["data"]["id"]): r.document for r in mine}
    assert by_id[("file.ready", ready["id"])]["data"]["image"]["width"] == 96
    assert by_id[("file.rejected", bad["id"])]["data"]["reason"] == "NOT_AN_IMAGE"
    duplicates = sum(n - 1 for n in Counter(r.webhook_id for r in mine).values())
    print(f"\n{shape.name}: {len(mine)} deliveries, {duplicates} duplicate(s)")


def test_a_failing_receiver_gets_the_same_webhook_id_again_on_the_schedule(
    tmp_path: Path, http: httpx.Client
) -> None:
    def fail_twice(request: Request, earlier: int) -> Answer:
        return Answer(503) if earlier < 2 else Answer(200)

    with (
        running_receiver(fail_twice) as receiver,
        running_server(tmp_path / "data", hooks_env(endpoint("flaky", receiver))) as server,
    ):
        file = ready_file(http, server.url, server.token("alice"))
        attempts = receiver.wait_for(lambda seen: len(of_files(seen, {file["id"]})) >= 3)

    mine = of_files(attempts, {file["id"]})
    assert len({r.webhook_id for r in mine}) == 1
    occurred = _event_time(mine[0])
    ages = [r.wall - occurred for r in mine]
    # Attempt n+1 is due when the event is as old as the first n delays (1 s, then 3 s),
    # each within ±20 % of its step.
    assert ages[1] >= 1 - 0.2 * 1
    assert ages[2] >= 3 - 0.2 * 2


def test_retry_after_is_honoured_when_longer_than_the_schedule(
    tmp_path: Path, http: httpx.Client
) -> None:
    def busy_once(request: Request, earlier: int) -> Answer:
        return Answer(429, {"Retry-After": "3"}) if earlier == 0 else Answer(200)

    with (
        running_receiver(busy_once) as receiver,
        running_server(tmp_path / "data", hooks_env(endpoint("busy", receiver))) as server,
    ):
        file = ready_file(http, server.url, server.token("alice"))
        attempts = receiver.wait_for(lambda seen: len(of_files(seen, {file["id"]})) >= 2)

    first, second = of_files(attempts, {file["id"]})[:2]
    assert second.at - first.at >= 3 - 0.1


def test_a_hanging_endpoint_delays_neither_verification_nor_other_endpoints(
    tmp_path: Path, http: httpx.Client
) -> None:
    hanging = threading.Event()

    def hang(request: Request, earlier: int) -> Answer:
        return Answer(200, hang=hanging)

    env = {"FILEGATE_WEBHOOK_TIMEOUT_SECONDS": "60"}
    with (
        running_receiver(hang) as slow,
        running_receiver() as fast,
        running_server(
            tmp_path / "data",
            hooks_env(endpoint("slow", slow, max_in_flight=1), endpoint("fast", fast), **env),
        ) as server,
    ):
        token = server.token("alice")
        files = [ready_file(http, server.url, token) for _ in range(3)]
        ids = {f["id"] for f in files}
        assert all(f["state"] == "ready" for f in files)
        fast.wait_for(lambda seen: len(of_files(seen, ids)) == 3)
        # Still hanging: the slow endpoint holds its one attempt and got nothing more.
        assert not hanging.is_set()
        assert len(of_files(slow.requests, ids)) == 1
        hanging.set()
        slow.wait_for(lambda seen: len(of_files(seen, ids)) == 3)


def test_a_worker_killed_mid_delivery_loses_no_event(tmp_path: Path, http: httpx.Client) -> None:
    first_attempt = threading.Event()

    def hang_first(request: Request, earlier: int) -> Answer:
        if earlier == 0:
            first_attempt.set()
            return Answer(200, hang=threading.Event())  # never answered: the worker dies
        return Answer(200)

    claims = {"FILEGATE_CLAIM_TIMEOUT_SECONDS": "3", "FILEGATE_HEARTBEAT_INTERVAL_SECONDS": "1"}
    with running_receiver(hang_first) as receiver:
        data_dir = tmp_path / "data"
        env = hooks_env(endpoint("crash", receiver), **claims)
        with running_server(data_dir, env) as server:
            file = ready_file(http, server.url, server.token("alice"))
            assert first_attempt.wait(30)
            server.process.kill()
            server.process.wait()
        with running_server(data_dir, env):
            attempts = receiver.wait_for(lambda seen: len(of_files(seen, {file["id"]})) >= 2)

    mine = of_files(attempts, {file["id"]})
    assert {r.webhook_id for r in mine} == {mine[0].webhook_id}
    assert mine[0].document["type"] == "file.ready"


def test_an_endpoint_answering_410_is_disabled_with_a_metric_and_a_log_line(
    tmp_path: Path, http: httpx.Client
) -> None:
    def gone(request: Request, earlier: int) -> Answer:
        return Answer(410)

    with running_receiver(gone) as receiver:
        data_dir = tmp_path / "data"
        env = hooks_env(endpoint("old", receiver), FILEGATE_WEBHOOK_GONE_THRESHOLD="2")
        with running_server(data_dir, env) as server:
            token = server.token("alice")
            ready_file(http, server.url, token)
            ready_file(http, server.url, token)
            _eventually(lambda: "webhook endpoint old disabled" in server.log())
            metrics = http.get(f"{server.url}/metrics").text
            assert 'filegate_webhook_endpoints_disabled_total{endpoint="old"} 1.0' in metrics
            listed = json.loads(run_command(data_dir, env, "webhooks", "ls", "--json"))
            [row] = listed["endpoints"]
            assert row["name"] == "old" and row["disabled_at"] is not None
            attempts = len(receiver.requests)
            ready_file(http, server.url, token)  # dropped: nothing more reaches it
            _eventually(lambda: 'reason="disabled"' in http.get(f"{server.url}/metrics").text)
            assert len(receiver.requests) == attempts


def test_replay_resends_kept_events_with_their_webhook_ids(
    tmp_path: Path, http: httpx.Client
) -> None:
    with running_receiver() as receiver:
        data_dir = tmp_path / "data"
        env = hooks_env(endpoint("orders", receiver, events=["file.ready"]))
        with running_server(data_dir, env) as server:
            since = datetime.now(UTC).isoformat()
            file = ready_file(http, server.url, server.token("alice"))
            [first] = receiver.wait_for(lambda seen: len(of_files(seen, {file["id"]})) == 1)

            output = run_command(
                data_dir, env, "webhooks", "replay", "--since", since, "--event", "file.ready"
            )

            assert "replayed 1 events as 1 deliveries" in output
            both = receiver.wait_for(lambda seen: len(of_files(seen, {file["id"]})) == 2)
    assert {r.webhook_id for r in of_files(both, {file["id"]})} == {first.webhook_id}


def test_webhooks_test_posts_a_signed_event_under_the_address_rules(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        env = hooks_env(endpoint("orders", receiver))
        output = run_command(
            tmp_path, env, "webhooks", "test", receiver.url, "--secret", OLD_SECRET
        )
        assert "delivered: status 200" in output
        [request] = receiver.requests
        assert Webhook(OLD_SECRET).verify(request.body, request.headers)["type"] == "webhook.test"
        strict = {**env, "FILEGATE_WEBHOOK_ALLOW_PRIVATE": "false"}
        with pytest.raises(RuntimeError, match=r"address refused: 127\.0\.0\.1 is loopback"):
            run_command(tmp_path, strict, "webhooks", "test", receiver.url)
        assert len(receiver.requests) == 1


def _event_time(request: Request) -> float:
    stamp = request.document["timestamp"]
    return datetime.fromisoformat(stamp).timestamp()


def _eventually(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
