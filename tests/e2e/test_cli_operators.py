"""``filegate status``, ``dlq`` and ``reconcile`` beside a real server, without a terminal,
and their refusal where no embedded database exists."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filegate.adapters.sql.database import open_database
from filegate.adapters.sql.queue import SqlQueue
from filegate.domain.clock import SystemClock
from tests.e2e.cli import Cli, eventually, photo_folder, pipe_env, rows, run_filegate
from tests.e2e.server import RunningServer, running_server
from tests.e2e.shapes import TEST_ENV

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("ops") / "data", env=TEST_ENV) as running:
        yield running


@pytest.fixture
def cli(server: RunningServer) -> Cli:
    return Cli(server, f"ops-{uuid.uuid4().hex[:8]}")


def test_status_counts_files_per_state_and_the_queue(
    cli: Cli, server: RunningServer, tmp_path: Path
) -> None:
    before = cli.json("status")
    folder = photo_folder(tmp_path)
    cli("upload", str(folder / "beach.jpg"), str(folder / "broken.jpg"), "--wait")

    after = eventually(lambda: _settled(cli.json("status", "--data-dir", str(server.data_dir))))

    gained = {state: after["files"][state] - before["files"][state] for state in after["files"]}
    assert gained == {
        "registered": 0, "uploaded": 0, "ready": 1, "rejected": 1, "expired": 0, "deleted": 0,
    }  # fmt: skip
    assert after["queue"]["dead"] == before["queue"]["dead"]
    printed = {row[0]: row[1] for row in rows(cli("status").stdout)}
    assert printed["ready"] == str(after["files"]["ready"])
    assert printed["dead letters"] == str(after["queue"]["dead"])
    assert "oldest message" in printed and "total" not in printed


def test_dlq_lists_redrives_and_purges_a_malformed_message(cli: Cli, server: RunningServer) -> None:
    _send_to_queue(server, "this is not an upload event")

    [dead] = eventually(lambda: cli.json("dlq", "ls"))
    assert dead["body"] == "this is not an upload event"
    assert dead["reason"] == "MALFORMED: body is not JSON"
    [row] = rows(cli("dlq", "ls").stdout)
    assert (row[0], row[1], row[4]) == (dead["id"], dead["reason"], dead["body"])

    redriven = cli("dlq", "redrive")
    assert redriven.returncode == 0 and "redrove 1 message" in redriven.stdout
    # The worker takes it again, finds it still malformed and dead-letters it once more.
    eventually(lambda: cli.json("dlq", "ls"))

    declined = cli("dlq", "purge", stdin="n\n")
    assert declined.returncode == 1 and "Aborted" in declined.stderr
    purged = cli("dlq", "purge", "--yes")  # still one: declining purged nothing
    assert purged.returncode == 0 and "purged 1 message" in purged.stdout
    assert cli.json("status")["queue"]["dead"] == 0


def test_reconcile_prints_its_counts_as_rows_or_json(cli: Cli) -> None:
    counts = cli.json("reconcile")

    printed = rows(cli("reconcile").stdout)

    assert counts and all(isinstance(n, int) for n in counts.values())
    assert printed == [[name.replace("_", " "), str(n)] for name, n in counts.items()]


@pytest.mark.parametrize(
    "command",
    [
        ("status",),
        ("dlq", "ls"),
        ("dlq", "redrive"),
        ("dlq", "purge", "--yes"),
        ("reconcile",),
        ("doctor",),
    ],
)
def test_local_commands_refuse_a_missing_embedded_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    wrong_folder = tmp_path / "not-a-deployment"
    env = pipe_env(wrong_folder, {})

    result = run_filegate(env, *command, cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"no database at {wrong_folder / 'filegate.db'}" in result.stderr
    assert "--data-dir" in result.stderr
    assert not wrong_folder.exists()  # nothing was created there


def test_a_postgresql_database_is_never_missing(tmp_path: Path) -> None:
    unreachable = "postgresql://nobody:nothing@127.0.0.1:9/none"
    env = pipe_env(tmp_path / "data", {"FILEGATE_DATABASE_URL": unreachable})

    result = run_filegate(env, "status", cwd=tmp_path)

    assert "no database at" not in result.stderr
    assert result.returncode == 1 and "unavailable" in result.stderr


def _settled(status: dict[str, Any]) -> dict[str, Any] | None:
    queue = status["queue"]
    return status if queue["waiting"] == 0 and queue["in_flight"] == 0 else None


def _send_to_queue(server: RunningServer, body: str) -> None:
    async def send() -> None:
        database = open_database(f"sqlite:///{server.data_dir / 'filegate.db'}")
        try:
            await SqlQueue(database, SystemClock()).send_batch([body])
        finally:
            await database.dispose()

    asyncio.run(send())
