"""Backends that fail mid-flight: PostgreSQL, S3 and SQS behind fault-injecting proxies.

One distributed deployment (PostgreSQL, S3 and SQS on moto; one API and one worker
process) runs for the module; each scenario keeps uploads going, injects one fault for a
few seconds, lifts it and checks: no 500 and no other 5xx than 503 ``UNAVAILABLE`` with
``Retry-After``; an upload succeeds again within seconds (measured); every accepted upload
reaches a final state, none rejected; no message in the dead-letter queue; sound histories.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import httpx
import pytest
from sqlalchemy.engine import make_url

from filegate.adapters.sql.database import POSTGRES_CONNECT_TIMEOUT_SECONDS
from tests.chaos.harness import (
    FIGURES,
    Load,
    account,
    assert_unavailable_answers_are_well_formed,
    final_states,
    history_faults,
    record_5xx,
    recovery_seconds,
)
from tests.e2e.server import (
    RunningServer,
    mint_token,
    run_command,
    running_server,
    start_process,
    stop,
    wait_for_log_line,
)
from tests.e2e.shapes import TEST_ENV
from tests.services import postgres_reachable, require, scratch_database
from tests.support.moto_server import REGION
from tests.support.tcp_faults import TcpFaultProxy

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

FAULT_SECONDS = 4.0
RECOVERY_LIMIT = 15.0


@dataclass
class Deployment:
    api: RunningServer
    env: dict[str, str]
    database_url: str
    dead_letter_queue: str
    moto: str
    proxies: dict[str, TcpFaultProxy]
    token: str
    worker_log: Path

    def errors_logged(self) -> list[str]:
        """Lines the API or the worker logged at ERROR or above (an unexpected exception)."""
        logs = [self.api.log(), self.worker_log.read_text(errors="replace")]
        return [
            line
            for text in logs
            for line in text.splitlines()
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line
        ]


def _through(proxy: TcpFaultProxy) -> str:
    return f"http://127.0.0.1:{proxy.port}"


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str
) -> Iterator[Deployment]:
    reachable, why = postgres_reachable()
    require("PostgreSQL", reachable, why)
    moto = urlsplit(moto_endpoint)
    data_dir = tmp_path_factory.mktemp("faults") / "data"
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database())
        pg = make_url(database_url)
        proxies = {
            "database": TcpFaultProxy(pg.host or "127.0.0.1", pg.port or 5432),
            "s3": TcpFaultProxy(moto.hostname or "127.0.0.1", moto.port or 80),
            "sqs": TcpFaultProxy(moto.hostname or "127.0.0.1", moto.port or 80),
        }
        for proxy in proxies.values():
            stack.enter_context(proxy.running())
        suffix = uuid.uuid4().hex[:10]
        queue = f"filegate-events-{suffix}"
        proxied_db = pg.set(host="127.0.0.1", port=proxies["database"].port)
        env = {
            **TEST_ENV,
            "FILEGATE_DATABASE_URL": proxied_db.render_as_string(hide_password=False),
            "FILEGATE_STORE_URL": f"s3://filegate-{suffix}/uploads/?endpoint_url="
            f"{_through(proxies['s3'])}&region={REGION}&path_style=true",
            "FILEGATE_QUEUE_URL": f"sqs://{queue}?endpoint_url={_through(proxies['sqs'])}"
            f"&region={REGION}",
            "FILEGATE_VISIBILITY_TIMEOUT_SECONDS": "10",
            "FILEGATE_RETRY_BASE_SECONDS": "0.5",
            "FILEGATE_RETRY_MAX_SECONDS": "4",
        }
        data_dir.mkdir(parents=True)
        run_command(data_dir, env, "setup")
        worker, log_path = start_process(data_dir, env, "worker")
        stack.callback(stop, worker)
        wait_for_log_line(worker, log_path, "worker running")
        api = stack.enter_context(running_server(data_dir, env, args=("--no-worker",)))
        token = mint_token(data_dir, env, "chaos")
        yield Deployment(
            api, env, database_url, f"{queue}-dlq", moto_endpoint, proxies, token, log_path
        )


def _dead_letters(deployment: Deployment) -> int:
    session = botocore.session.get_session()
    sqs: Any = session.create_client("sqs", endpoint_url=deployment.moto, region_name=REGION)
    url = sqs.get_queue_url(QueueName=deployment.dead_letter_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _refuse(proxy: TcpFaultProxy) -> Callable[[], None]:
    """The backend's port closed: new connections refused. Those already open are left
    to the pool (a pooled connection outlives a listener that stops accepting)."""
    proxy.refuse()
    return proxy.accept


def _reset(proxy: TcpFaultProxy) -> Callable[[], None]:
    """Reset every connection again and again while the fault lasts (mid-request too)."""
    proxy.reset_all()
    proxy.latency = 0.05  # requests last long enough to be caught in the middle
    return lambda: setattr(proxy, "latency", 0.0)


def _stall(proxy: TcpFaultProxy) -> Callable[[], None]:
    proxy.stall()
    return proxy.flow


def _stall_new_connections(proxy: TcpFaultProxy) -> Callable[[], None]:
    """Every connection reset, and the new ones stalled: only a connect time-out ends them."""
    proxy.stall()
    proxy.reset_all()
    return proxy.flow


def _restart(proxy: TcpFaultProxy) -> Callable[[], None]:
    """A restart: every connection reset, new ones refused until it is back."""
    proxy.restart(down_for=0)
    proxy.refuse()
    return proxy.accept


FAULTS = {
    "refused": _refuse,
    "reset": _reset,
    "stalled": _stall,
    "stalled past the connect time-out": _stall_new_connections,
    "restarted": _restart,
}
# The scenarios whose fault the client's load must feel: the API or the client's own PUT
# (to S3) needs a new connection, uses a reset or stalled one (a failure, a 5xx or an answer
# slower than half the fault). SQS is used by the worker only.
FELT_BY_CLIENTS = {
    ("database", "reset"),
    ("database", "stalled"),
    ("database", "restarted"),
    ("database", "stalled past the connect time-out"),
    ("s3", "refused"),
    ("s3", "reset"),
    ("s3", "stalled"),
}
LONG_STALL_SECONDS = POSTGRES_CONNECT_TIMEOUT_SECONDS + 3
SCENARIOS = [
    ("database", "refused"),
    ("database", "reset"),
    ("database", "stalled"),
    ("database", "stalled past the connect time-out"),
    ("database", "restarted"),
    ("s3", "refused"),
    ("s3", "reset"),
    ("s3", "stalled"),
    ("sqs", "refused"),
    ("sqs", "reset"),
    ("sqs", "stalled"),
]


@pytest.mark.parametrize(
    ("backend", "fault"), SCENARIOS, ids=[f"{b}-{f.replace(' ', '-')}" for b, f in SCENARIOS]
)
def test_a_backend_fault_is_survived(deployment: Deployment, backend: str, fault: str) -> None:
    proxy = deployment.proxies[backend]
    with Load(deployment.api.url, deployment.token) as load:
        _wait_for_uploads(load, 2)
        lift = FAULTS[fault](proxy)
        try:
            faulted_at = time.monotonic()
            lasting = LONG_STALL_SECONDS if "time-out" in fault else FAULT_SECONDS
            while time.monotonic() - faulted_at < lasting:
                if fault == "reset":
                    proxy.reset_all()
                time.sleep(0.5)
        finally:
            lift()  # whatever happens, the next scenario starts with a healthy backend
        returned_at = time.monotonic()
        recovery = recovery_seconds(load, returned_at)
        _wait_for_uploads(load, len(load.accepted) + 2)
    FIGURES.faults += 1
    FIGURES.recovery_after_backend.append(recovery)
    FIGURES.scenarios.append(f"{backend} {fault}")
    record_5xx(load)

    assert_unavailable_answers_are_well_formed(load)
    with httpx.Client(timeout=30) as http:
        states = final_states(http, deployment.api.url, deployment.token, load.accepted)
    lost, stuck, rejected = account(load.accepted, states)
    assert (lost, stuck, rejected) == (0, 0, 0), states
    assert history_faults(deployment.database_url, load.accepted) == []
    assert _dead_letters(deployment) == 0
    assert deployment.errors_logged() == []
    assert recovery <= RECOVERY_LIMIT
    if "time-out" in fault:  # the connect time-out ended the wait: a 503, not a hang
        assert any(a.status == 503 for a in load.server_errors())
    if (backend, fault) in FELT_BY_CLIENTS:  # proof that the fault struck the load
        assert load.felt(slow=FAULT_SECONDS / 2)


def _wait_for_uploads(load: Load, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(load.accepted) < count:
        assert time.monotonic() < deadline, f"fewer than {count} uploads accepted"
        time.sleep(0.1)


def test_the_database_being_down_is_answered_503_with_retry_after(
    deployment: Deployment,
) -> None:
    """Not left to chance: a registration while the database refuses is a 503."""
    proxy = deployment.proxies["database"]
    proxy.refuse()
    proxy.reset_all()
    try:
        response = httpx.post(
            f"{deployment.api.url}/v1/files",
            json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10},
            headers={"Authorization": f"Bearer {deployment.token}"},
            timeout=30,
        )
    finally:
        proxy.accept()
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "UNAVAILABLE"
    assert response.headers["retry-after"].isdigit()
    FIGURES.faults += 2
    FIGURES.status_5xx[503] += 1
