"""The two deployment shapes the end-to-end suite runs against, behind one interface."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from tests.e2e.server import (
    RunningServer,
    mint_token,
    run_command,
    running_server,
    start_process,
    stop,
    wait_for_log_line,
)
from tests.support.moto_server import REGION, s3_client

MULTIPART_THRESHOLD = 6 * 1024 * 1024
TEST_ENV = {
    "FILEGATE_BATCH_WINDOW_SECONDS": "0.2",
    "FILEGATE_DECODE_WORKERS": "1",
    # Tests upload the same images for the same users again and again; deduplication
    # would answer them with the first file. It is tested on servers of its own.
    "FILEGATE_DEDUPE": "false",
}


class Shape(Protocol):
    """A running deployment as a client sees it."""

    name: str

    @property
    def url(self) -> str:
        """Base URL of the (first) API process."""
        ...

    @property
    def urls(self) -> list[str]:
        """Base URLs of every API process."""
        ...

    def token(self, user: str) -> str: ...

    def stored_objects(self, file_id: str) -> list[str]:
        """Stored objects (and temporary files) whose name mentions ``file_id``."""
        ...


@dataclass(frozen=True)
class Embedded:
    """One ``filegate serve`` process: SQLite, local folder, table queue."""

    server: RunningServer
    name: str = "embedded"
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def urls(self) -> list[str]:
        return [self.server.url]

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def token(self, user: str) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.server.token(user)
        return self._tokens[user]

    def stored_objects(self, file_id: str) -> list[str]:
        return [str(p) for p in self.data_dir.rglob("*") if p.is_file() and file_id in p.name]


@dataclass(frozen=True)
class Distributed:
    """PostgreSQL + S3 + SQS (moto), two API processes and two worker processes."""

    apis: list[RunningServer]
    env: dict[str, str]
    data_dir: Path
    endpoint: str
    bucket: str
    workers: list[Any] = field(default_factory=list)
    name: str = "distributed"
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.apis[0].url

    @property
    def urls(self) -> list[str]:
        return [api.url for api in self.apis]

    def token(self, user: str) -> str:
        if user not in self._tokens:
            self._tokens[user] = mint_token(self.data_dir, self.env, user)
        return self._tokens[user]

    def stored_objects(self, file_id: str) -> list[str]:
        listing = s3_client(self.endpoint).list_objects_v2(Bucket=self.bucket)
        return [o["Key"] for o in listing.get("Contents", []) if file_id in o["Key"]]


@contextmanager
def running_embedded(data_dir: Path, extra: Mapping[str, str] | None = None) -> Iterator[Embedded]:
    with running_server(data_dir, env={**TEST_ENV, **(extra or {})}) as server:
        yield Embedded(server)


@contextmanager
def running_distributed(
    data_dir: Path,
    database_url: str,
    moto_endpoint: str,
    apis: int = 2,
    workers: int = 2,
    extra: Mapping[str, str] | None = None,
) -> Iterator[Distributed]:
    """Provision with ``filegate setup``, then run API and worker processes."""
    suffix = uuid.uuid4().hex[:10]
    bucket, queue = f"filegate-{suffix}", f"filegate-events-{suffix}"
    aws = f"endpoint_url={moto_endpoint}&region={REGION}"
    env = {
        **TEST_ENV,
        "FILEGATE_DATABASE_URL": database_url,
        "FILEGATE_STORE_URL": f"s3://{bucket}/uploads/?{aws}&path_style=true",
        "FILEGATE_QUEUE_URL": f"sqs://{queue}?{aws}",
        "FILEGATE_VISIBILITY_TIMEOUT_SECONDS": "30",
        "FILEGATE_MULTIPART_THRESHOLD": str(MULTIPART_THRESHOLD),
        **(extra or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    run_command(data_dir, env, "setup")
    with ExitStack() as stack:
        started = [start_process(data_dir, env, "worker") for _ in range(workers)]
        for process, _log in started:
            stack.callback(stop, process)
        servers = [
            stack.enter_context(running_server(data_dir, env, args=("--no-worker",)))
            for _ in range(apis)
        ]
        for process, log_path in started:  # workers have no port to poll, but they log
            wait_for_log_line(process, log_path, "worker running")
        worker_processes = [process for process, _log in started]
        yield Distributed(servers, env, data_dir, moto_endpoint, bucket, worker_processes)


def api_get(client: httpx.Client, url: str, token: str) -> httpx.Response:
    return client.get(url, headers={"Authorization": f"Bearer {token}"})
