"""Metrics and logs of the real ``filegate serve`` (and ``filegate worker``) processes.

A batch of files, one of them corrupt, goes through registration, upload and verification;
``/metrics`` is scraped before and after, and every counter must have moved by exactly what
the batch did. The process's log must be JSON lines, with the request id a client sent.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind
from tests.e2e.flow import auth, upload
from tests.e2e.server import (
    SECRET,
    RunningServer,
    free_port,
    running_server,
    start_process,
    stop,
)
from tests.e2e.webhooks import endpoint, hooks_env
from tests.support import images
from tests.support.prometheus import (
    Samples,
    exported_names,
    load_dashboard,
    metric_names,
    queries,
    samples,
    value,
)
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

REQUESTS = "filegate_http_request_duration_seconds_count"
REQUEST_ID = "metrics-e2e-batch-1"
QUICK_BATCHES = {"FILEGATE_BATCH_WINDOW_SECONDS": "0.05"}
"""Hand a batch to the worker as soon as it is claimed (default: gather for a second)."""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, webhook_receiver: Receiver
) -> Iterator[RunningServer]:
    """A server with a webhook endpoint, so that it exports the webhook metrics too."""
    data_dir = tmp_path_factory.mktemp("metrics") / "data"
    hooks = hooks_env(endpoint("metrics", webhook_receiver))
    with running_server(data_dir, {**hooks, **QUICK_BATCHES}) as running:
        yield running


def token_for(user: str) -> str:
    """A bearer token the servers accept, minted here (no ``filegate token`` process)."""
    authority = TokenAuthority(SECRET, SystemClock())
    return authority.mint(Owner(OwnerKind.USER, user), timedelta(hours=1))


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def scrape(http: httpx.Client, url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = http.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    return samples(response.text)


def scrape_until(
    http: httpx.Client, url: str, settled: Callable[[Samples], bool], timeout: float = 30
) -> Samples:
    """Scrape until ``settled`` holds: the worker counts a batch after its files' final
    transitions, so a scrape right after the last file is final may still miss it."""
    deadline = time.monotonic() + timeout
    while True:
        scraped = scrape(http, url)
        if settled(scraped) or time.monotonic() > deadline:
            return scraped
        time.sleep(0.05)


def register_batch(
    http: httpx.Client, url: str, token: str, files: list[bytes], request_id: str | None = None
) -> list[Any]:
    body = {
        "files": [
            {"filename": f"{i}.jpg", "content_type": "image/jpeg", "size": len(data)}
            for i, data in enumerate(files)
        ]
    }
    headers = {**auth(token), **({"X-Request-ID": request_id} if request_id else {})}
    response = http.post(f"{url}/v1/files/batch", json=body, headers=headers)
    assert response.status_code == 201, response.text
    registered: list[Any] = response.json()["files"]
    return registered


def final_states(http: httpx.Client, url: str, token: str, ids: list[str]) -> tuple[list[str], int]:
    """Long-poll each file to a final state: the states, and how many GETs that took."""
    states, gets = [], 0
    for file_id in ids:
        state = "registered"
        while state in ("registered", "uploaded") and gets < 60:
            response = http.get(
                f"{url}/v1/files/{file_id}", params={"wait": 10}, headers=auth(token)
            )
            gets += 1
            assert response.status_code == 200, response.text
            state = response.json()["state"]
        states.append(state)
    return states, gets


def log_entries(server: RunningServer) -> list[dict[str, Any]]:
    """Every line of the process's output, each parsed as one JSON object."""
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


Series = tuple[str, tuple[tuple[str, str], ...]]


def series(name: str, **labels: str) -> Series:
    return name, tuple(sorted(labels.items()))


def movements(before: Samples, after: Samples, wanted: Iterable[Series]) -> dict[Series, float]:
    """How far each wanted series moved from ``before`` to ``after``."""
    return {
        (name, labels): value(after, name, **dict(labels)) - value(before, name, **dict(labels))
        for name, labels in wanted
    }


def test_a_batch_moves_every_counter_by_exactly_what_it_did(
    server: RunningServer, http: httpx.Client
) -> None:
    token = token_for("metrics-batch")
    files = [images.jpeg_bytes(40 + i, 30) for i in range(4)] + [images.corrupt_jpeg()]
    n = len(files)
    before = scrape(http, server.url)

    registered = register_batch(http, server.url, token, files)
    for file, data in zip(registered, files, strict=True):
        assert upload(http, file, data).status_code == 200
    states, gets = final_states(http, server.url, token, [f["id"] for f in registered])
    expected = {
        series("filegate_registrations_total"): n,
        series("filegate_uploads_total"): n,
        series("filegate_upload_bytes_total"): sum(len(d) for d in files),
        series("filegate_verifications_total", outcome="ready", reason="none"): n - 1,
        series("filegate_verifications_total", outcome="rejected", reason="CORRUPT_IMAGE"): 1,
        series("filegate_verification_duration_seconds_count", outcome="ready"): n - 1,
        series("filegate_verification_duration_seconds_count", outcome="rejected"): 1,
        series("filegate_time_to_ready_seconds_count"): n - 1,
        series("filegate_batch_size_sum"): n,
        series("filegate_batch_messages_total", outcome="succeeded"): n,
        series("filegate_messages_retried_total"): 0,
        series("filegate_messages_dead_lettered_total"): 0,
        series(REQUESTS, method="POST", route="/v1/files/batch", status="201"): 1,
        series(REQUESTS, method="PUT", route="/store/{key}", status="200"): n,
        series(REQUESTS, method="GET", route="/v1/files/{file_id}", status="200"): gets,
    }
    # A batch is counted after its files' final transitions, a request after its answer
    # went out: scrape until everything caught up, then check nothing went further.
    after = scrape_until(
        http,
        server.url,
        lambda s: all(m >= expected[k] for k, m in movements(before, s, expected).items()),
    )

    assert sorted(states) == ["ready"] * (n - 1) + ["rejected"]
    assert movements(before, after, expected) == expected
    assert value(after, "filegate_queue_up") == 1
    assert value(after, "filegate_queue_messages", state="dead") == 0
    writes = series("filegate_db_transactions_total", mode="write")
    deletes = series("filegate_queue_calls_total", op="delete_batch")
    moved = movements(before, after, {writes: 0, deletes: 0})
    assert moved[writes] >= n  # at least each file's upload commit
    assert 1 <= moved[deletes] <= n  # the worker settles a batch at a time


def test_log_lines_are_json_with_the_request_id_a_client_sent(
    server: RunningServer, http: httpx.Client
) -> None:
    token = token_for("metrics-logs")
    data = images.jpeg_bytes(33, 22)
    [file] = register_batch(http, server.url, token, [data], request_id=REQUEST_ID)
    assert upload(http, file, data).status_code == 200
    final_states(http, server.url, token, [file["id"]])

    entries = log_entries(server)  # every line parses: nothing but JSON on the output

    [batch_request] = [e for e in entries if e.get("request_id") == REQUEST_ID]
    assert {k: batch_request[k] for k in ("logger", "method", "route", "status")} == {
        "logger": "filegate.http.access",
        "method": "POST",
        "route": "/v1/files/batch",
        "status": 201,
    }
    assert {"time", "level", "message", "duration_ms", "client_ip"} <= batch_request.keys()
    batches = [e for e in entries if e["message"].startswith("batch of ")]
    assert batches
    assert {"batch_size", "succeeded", "retried", "dead", "duration_ms"} <= batches[-1].keys()
    output = server.log()
    assert "sig=" not in output
    assert token not in output


def test_the_dashboard_queries_only_metrics_the_server_exports(
    server: RunningServer, http: httpx.Client
) -> None:
    exported = exported_names(http.get(f"{server.url}/metrics").text)

    used = set().union(*(metric_names(q) for q in queries(load_dashboard())))

    assert used - exported == set()


def test_a_worker_process_serves_its_own_metrics(tmp_path: Path, http: httpx.Client) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    worker, log_path = start_process(data_dir, QUICK_BATCHES, "worker", "--metrics-port", str(port))
    try:
        wait_until_serving(http, url, worker)  # the worker has migrated the database by now
        asyncio.run(enqueue(f"sqlite:///{data_dir / 'filegate.db'}", "not a filegate message"))
        dead = "filegate_messages_dead_lettered_total"
        scraped = scrape_until(http, url, lambda s: value(s, dead) >= 1)
        assert http.get(f"{url}/v1/files").status_code == 404  # metrics only, no API
    finally:
        assert stop(worker) == 0

    assert value(scraped, dead) == 1
    assert value(scraped, "filegate_batch_messages_total", outcome="dead") == 1
    assert value(scraped, "filegate_batch_size_sum") == 1
    assert value(scraped, "filegate_queue_up") == 1
    assert value(scraped, "filegate_queue_messages", state="dead") == 1
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert any(e["logger"] == "filegate.worker.batch" and e.get("dead") == 1 for e in entries)


async def enqueue(database_url: str, body: str) -> None:
    database = open_database(database_url, 1, 0)
    try:
        await SqlQueue(database, SystemClock()).send_batch([body])
    finally:
        await database.dispose()


def wait_until_serving(
    http: httpx.Client, url: str, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker exited early"
        try:
            if http.get(f"{url}/metrics", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"nothing served {url}/metrics")
