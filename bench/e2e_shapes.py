"""The two deployments the end-to-end benchmark runs, as real processes on loopback ports.

Embedded: one ``filegate serve`` with its in-process worker (SQLite, local store, SQL
queue), default settings. Distributed: one ``filegate serve --no-worker`` and two
``filegate worker`` processes on a scratch PostgreSQL database, with S3 and SQS served by
moto's server (the bucket notifies the queue, as ``filegate setup`` provisions it).
Only the worker's receive batch size differs between runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench import servers
from bench.e2e_counts import pg_transactions
from bench.registrations import new_secret

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
"""Where scratch databases are made (and dropped); the distributed shape needs it."""
_REGION = "us-east-1"
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": _REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
"""moto checks no signature; fake credentials keep botocore from any real configuration."""
WORKERS = 2
_SETUP_TIMEOUT_SECONDS = 120
_SETTLE_SECONDS = 0.5


@dataclass
class PgCount:
    """The scratch database's transaction count (:func:`bench.e2e_counts.pg_transactions`)
    once provisioned, before any filegate process started, and once every process has
    stopped (filled in when the deployment ends)."""

    at_setup: int
    at_stop: int | None = None

    @property
    def during(self) -> int:
        """Transactions of the processes' whole lives: start-up, the run, the stop."""
        if self.at_stop is None:
            raise RuntimeError("the deployment has not stopped yet")
        return self.at_stop - self.at_setup


@dataclass(frozen=True)
class Deployment:
    """A running shape: its API, every process's kind (``serve``: API and worker in one,
    ``api``, ``worker``) and ``/metrics`` URL, the server secret, and where the shape has
    PostgreSQL, its transaction count."""

    name: str
    api: str
    processes: list[tuple[str, str]]
    secret: str
    pg: PgCount | None = None

    @property
    def metrics(self) -> list[str]:
        """Every process's ``/metrics`` URL."""
        return [url for _, url in self.processes]


def _filegate(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("filegate")), *args]


def _serve(*extra: str) -> list[str]:
    address = ("--host", "127.0.0.1", "--port", "{port}", "--public-url", "http://127.0.0.1:{port}")
    return _filegate("serve", *address, *extra)


@contextmanager
def embedded(tmp: Path, batch_size: int, renditions: bool = True) -> Iterator[Deployment]:
    """``filegate serve`` with its worker, data in ``tmp``; ``renditions=False`` sets
    ``FILEGATE_RENDITIONS=false``."""
    tmp.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    env = {
        "FILEGATE_DATA_DIR": str(tmp / "data"),
        "FILEGATE_SECRET": secret,
        "FILEGATE_BATCH_SIZE": str(batch_size),
        "FILEGATE_RENDITIONS": str(renditions).lower(),
    }
    with servers.running(servers.ServerSpec(_serve(), env), log_dir=tmp) as (api,):
        yield Deployment("embedded", api, [("serve", f"{api}/metrics")], secret)


def postgres_reachable() -> bool:
    """Whether the PostgreSQL server for scratch databases answers."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


@contextmanager
def distributed(tmp: Path, batch_size: int) -> Iterator[Deployment]:
    """One API and :data:`WORKERS` workers on PostgreSQL + moto S3 and SQS, data in ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    with _scratch_database() as (database, url):
        moto = servers.ServerSpec(["moto_server", "-H", "127.0.0.1", "-p", "{port}"])
        with servers.running(_in_venv(moto), log_dir=tmp) as (endpoint,):
            secret = new_secret()
            env = _distributed_env(tmp, url, endpoint, secret, batch_size)
            _setup(env)
            count = PgCount(_settled_transactions(database))
            api = servers.ServerSpec(_serve("--no-worker"), env)
            worker = servers.ServerSpec(_filegate("worker", "--metrics-port", "{port}"), env)
            specs = (api, *([worker] * WORKERS))
            with servers.running(*specs, log_dir=tmp) as (api_url, *workers):
                processes = [("api", f"{api_url}/metrics")]
                processes += [("worker", f"{url}/metrics") for url in workers]
                yield Deployment("distributed", api_url, processes, secret, count)
            count.at_stop = _settled_transactions(database)


def _in_venv(spec: servers.ServerSpec) -> servers.ServerSpec:
    """``spec`` with its executable taken from this interpreter's environment."""
    executable = str(Path(sys.executable).with_name(spec.command[0]))
    return servers.ServerSpec([executable, *spec.command[1:]], spec.env)


def _distributed_env(
    tmp: Path, database_url: str, endpoint: str, secret: str, batch_size: int
) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    aws = f"endpoint_url={endpoint}&region={_REGION}"
    return {
        **_FAKE_AWS,
        "FILEGATE_DATA_DIR": str(tmp / "data"),
        "FILEGATE_SECRET": secret,
        "FILEGATE_DATABASE_URL": database_url,
        "FILEGATE_STORE_URL": f"s3://bench-{suffix}/uploads/?{aws}&path_style=true",
        "FILEGATE_QUEUE_URL": f"sqs://bench-events-{suffix}?{aws}",
        "FILEGATE_BATCH_SIZE": str(batch_size),
    }


def _setup(env: Mapping[str, str]) -> None:
    """``filegate setup``: schema, bucket, queues and the bucket's notification."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FILEGATE_")}
    done = subprocess.run(
        _filegate("setup"),
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=_SETUP_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"filegate setup failed:\n{done.stdout}{done.stderr}")


@contextmanager
def _scratch_database() -> Iterator[tuple[str, str]]:
    """A new empty database (name, URL), dropped afterwards."""
    name = f"filegate_bench_{uuid.uuid4().hex[:12]}"
    identifier = sql.Identifier(name)
    _admin(sql.SQL("CREATE DATABASE {}").format(identifier))
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(database=name)
        yield name, url.render_as_string(hide_password=False)
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))


def _admin(statement: sql.Composed) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(statement)


def _settled_transactions(database: str) -> int:
    """The count once it stops moving: a backend that just ended reports as it exits."""
    count = pg_transactions(POSTGRES_ADMIN_URL, database)
    while True:
        time.sleep(_SETTLE_SECONDS)
        again = pg_transactions(POSTGRES_ADMIN_URL, database)
        if again == count:
            return count
        count = again
