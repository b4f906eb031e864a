"""The real ``filegate`` binary against a real ``filegate serve``: exit codes, output, files.

``upload`` and ``files`` talk to the server over HTTP (``FILEGATE_URL``/``FILEGATE_TOKEN``);
``status`` and ``dlq`` run beside it on the same data folder, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from filegate.adapters.sql.engine import create_engine
from filegate.adapters.sql.queue import SqlQueue
from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind
from tests.e2e.server import SECRET, RunningServer, filegate_command, process_env, running_server
from tests.e2e.shapes import TEST_ENV
from tests.support import images

pytestmark = pytest.mark.e2e

T = TypeVar("T")


class Cli:
    """Runs ``filegate`` as a user (with a token of their own) next to the server."""

    def __init__(self, server: RunningServer, user: str) -> None:
        self.server = server
        token = TokenAuthority(SECRET, SystemClock()).mint(
            Owner(OwnerKind.USER, user), timedelta(hours=1)
        )
        self.env = {"FILEGATE_URL": server.url, "FILEGATE_TOKEN": token, "COLUMNS": "200"}

    def __call__(
        self, *args: str, stdin: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [filegate_command(), *args],
            env=process_env(self.server.data_dir, self.env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd,
            check=False,
        )

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli") / "data", env=TEST_ENV) as running:
        yield running


@pytest.fixture
def cli(server: RunningServer) -> Cli:
    return Cli(server, f"cli-{uuid.uuid4().hex[:8]}")


def eventually(probe: Callable[[], T | None], timeout: float = 30) -> T:
    """The first truthy answer of ``probe``, asked every 0.2 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError("the condition never held")


def photo_folder(root: Path) -> Path:
    folder = root / "photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(images.jpeg_bytes(640, 480))
    (folder / "boat.png").write_bytes(images.png_bytes(320, 200))
    (folder / "broken.jpg").write_bytes(images.corrupt_jpeg())
    (folder / ".DS_Store").write_bytes(b"hidden files are skipped")
    return folder


# --- upload ----------------------------------------------------------------------------


def test_upload_of_a_folder_summarises_each_file_and_exits_3_on_a_rejection(
    cli: Cli, tmp_path: Path
) -> None:
    folder = photo_folder(tmp_path)
    recording = tmp_path / "screen.txt"

    result = cli("upload", str(folder), "--wait", "--parallel", "2", "--record", str(recording))

    assert result.returncode == 3, result.stderr
    names = [str(folder / n) for n in ("beach.jpg", "boat.png", "broken.jpg")]
    rows = _rows(result.stdout, names)
    assert (
        "ready" in rows[str(folder / "beach.jpg")]
        and "640x480 JPEG" in rows[str(folder / "beach.jpg")]
    )
    assert "ready" in rows[str(folder / "boat.png")]
    broken = rows[str(folder / "broken.jpg")]
    assert "rejected" in broken and "the image is truncated or corrupt (CORRUPT_IMAGE)" in broken
    assert "3 files: 2 ready, 1 rejected" in result.stdout
    screen = recording.read_text()
    assert "total" in screen and "3/3 files" in screen and "Upload summary" in screen


def test_upload_exits_1_when_a_file_fails_and_0_when_all_are_uploaded(
    cli: Cli, tmp_path: Path
) -> None:
    good = tmp_path / "good.webp"
    good.write_bytes(images.webp_bytes(90, 60))
    notes = tmp_path / "notes.txt"
    notes.write_bytes(images.text_bytes())

    failed = cli("upload", str(good), str(notes), str(tmp_path / "missing.jpg"))
    fine = cli("upload", str(good), "--metadata", '{"album": 1}')

    assert failed.returncode == 1
    assert "UNSUPPORTED_MEDIA_TYPE" in failed.stdout and "UNREADABLE_SOURCE" in failed.stdout
    assert "3 files:" in failed.stdout and "2 failed" in failed.stdout
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert cli("upload", "--metadata", "[1]", str(good)).returncode == 2


# --- files -----------------------------------------------------------------------------


def test_files_ls_show_download_and_rm(cli: Cli, tmp_path: Path) -> None:
    folder = photo_folder(tmp_path)
    assert (
        cli("upload", str(folder / "beach.jpg"), str(folder / "boat.png"), "--wait").returncode == 0
    )

    listed = cli.json("files", "ls")
    by_name = {f["filename"]: f for f in listed}
    assert set(by_name) == {"beach.jpg", "boat.png"}
    beach = by_name["beach.jpg"]
    shown = cli.json("files", "show", beach["id"])
    assert (shown["state"], shown["image"]["width"]) == ("ready", 640)
    assert cli.json("files", "ls", "--state", "ready", "--limit", "1") == [listed[0]]
    table = cli("files", "ls").stdout
    assert beach["id"] in table and "boat.png" in table

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    saved = cli("files", "download", beach["id"], cwd=downloads)
    again = cli("files", "download", beach["id"], cwd=downloads)
    explicit = cli("files", "download", by_name["boat.png"]["id"], "-o", str(tmp_path / "b.png"))
    assert saved.returncode == 0 and "SHA-256 verified" in saved.stderr
    assert (downloads / "beach.jpg").read_bytes() == (folder / "beach.jpg").read_bytes()
    assert again.returncode == 1 and "--force" in again.stderr
    assert explicit.returncode == 0
    assert (tmp_path / "b.png").read_bytes() == (folder / "boat.png").read_bytes()

    removed = cli("files", "rm", beach["id"], "no-such-id")
    assert removed.returncode == 1
    assert f"deleted {beach['id']}" in removed.stdout and "no-such-id" in removed.stderr
    assert cli.json("files", "show", beach["id"])["state"] == "deleted"
    missing = cli("files", "show", "no-such-id")
    assert missing.returncode == 1 and "FILE_NOT_FOUND" in missing.stderr


def test_remote_commands_need_a_token(cli: Cli) -> None:
    cli.env.pop("FILEGATE_TOKEN")

    result = cli("files", "ls")

    assert result.returncode == 2 and "FILEGATE_TOKEN" in result.stderr


# --- operators -------------------------------------------------------------------------


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
    table = cli("status").stdout
    assert "ready" in table and "dead letters" in table and "oldest message" in table


def test_dlq_lists_redrives_and_purges_a_malformed_message(cli: Cli, server: RunningServer) -> None:
    _send_to_queue(server, "this is not an upload event")

    [dead] = eventually(lambda: cli.json("dlq", "ls"))
    assert dead["body"] == "this is not an upload event"
    assert dead["reason"] == "MALFORMED: body is not JSON"
    table = cli("dlq", "ls").stdout
    assert dead["id"] in table and "this is not an upload event" in table

    redriven = cli("dlq", "redrive")
    assert redriven.returncode == 0 and "redrove 1 message" in redriven.stdout
    # The worker takes it again, finds it still malformed and dead-letters it once more.
    eventually(lambda: cli.json("dlq", "ls"))

    declined = cli("dlq", "purge", stdin="n\n")
    assert declined.returncode == 1 and "Aborted" in declined.stderr
    purged = cli("dlq", "purge", "--yes")  # still one: declining purged nothing
    assert purged.returncode == 0 and "purged 1 message" in purged.stdout
    assert cli.json("status")["queue"]["dead"] == 0


def _rows(table: str, keys: list[str]) -> dict[str, str]:
    """Each key's row of a printed table, with its wrapped continuation lines."""
    rows: dict[str, str] = {}
    current: str | None = None
    for line in table.splitlines():
        first = line.split(" ", 1)[0]
        if first in keys:
            current = first
            rows[current] = line
        elif current is not None and line.startswith(" "):
            rows[current] += " " + line.strip()
        else:
            current = None
    assert set(rows) == set(keys), table
    return {key: " ".join(row.split()) for key, row in rows.items()}


def _settled(status: dict[str, Any]) -> dict[str, Any] | None:
    queue = status["queue"]
    return status if queue["waiting"] == 0 and queue["in_flight"] == 0 else None


def _send_to_queue(server: RunningServer, body: str) -> None:
    async def send() -> None:
        engine = create_engine(f"sqlite:///{server.data_dir / 'filegate.db'}")
        try:
            await SqlQueue(engine, SystemClock()).send_batch([body])
        finally:
            await engine.dispose()

    asyncio.run(send())
