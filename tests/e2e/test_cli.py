"""The real ``filegate`` binary against a real ``filegate serve``, without a terminal.

``upload`` and ``files`` talk to the server over HTTP (``FILEGATE_URL``/``FILEGATE_TOKEN``)
with stdout and stderr pipes and no ``COLUMNS``, as in ``filegate files ls | cat``: tables
come out as one tab-separated line per row, whatever their width.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import Cli, long_name_folder, photo_folder, rows
from tests.e2e.server import RunningServer, running_server
from tests.e2e.shapes import TEST_ENV
from tests.support import images

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli") / "data", env=TEST_ENV) as running:
        yield running


@pytest.fixture(scope="module")
def deduplicating_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {**TEST_ENV, "FILEGATE_DEDUPE": "true"}
    with running_server(tmp_path_factory.mktemp("cli-dedupe") / "data", env=env) as running:
        yield running


@pytest.fixture
def cli(server: RunningServer) -> Cli:
    return Cli(server, f"cli-{uuid.uuid4().hex[:8]}")


# --- upload ----------------------------------------------------------------------------


def test_upload_summary_is_one_tab_separated_line_per_file_and_exits_3_on_a_rejection(
    cli: Cli, tmp_path: Path
) -> None:
    folder = photo_folder(long_name_folder(tmp_path))
    recording = tmp_path / "screen.txt"

    result = cli("upload", str(folder), "--wait", "--parallel", "2", "--record", str(recording))

    assert result.returncode == 3, result.stderr
    by_path = {row[0]: row for row in rows(result.stdout)}
    assert len(str(folder / "beach.jpg")) > 80
    assert set(by_path) == {str(folder / n) for n in ("beach.jpg", "boat.png", "broken.jpg")}
    assert all(len(row) == 4 for row in by_path.values())
    _, state, file_id, detail = by_path[str(folder / "beach.jpg")]
    assert (state, len(file_id), detail) == ("ready", 32, "640x480 JPEG")
    assert by_path[str(folder / "boat.png")][1] == "ready"
    broken = by_path[str(folder / "broken.jpg")]
    assert broken[1] == "rejected"
    assert broken[3] == "the image is truncated or corrupt (CORRUPT_IMAGE)"
    assert "3 files: 2 ready, 1 rejected" in result.stderr
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
    details = {row[0]: row[3] for row in rows(failed.stdout)}
    assert details[str(notes)].startswith("UNSUPPORTED_MEDIA_TYPE: ")
    assert details[str(tmp_path / "missing.jpg")].startswith("UNREADABLE_SOURCE: ")
    assert "3 files:" in failed.stderr and "2 failed" in failed.stderr
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert cli("upload", "--metadata", "[1]", str(good)).returncode == 2


def test_upload_json_gives_each_file_or_its_error(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(images.png_bytes(40, 30))

    result = cli("upload", str(good), str(tmp_path / "missing.png"), "--wait", "--json")

    assert result.returncode == 1, result.stderr
    uploaded, missing = json.loads(result.stdout)

    assert (uploaded["path"], uploaded["state"], uploaded["deduplicated"]) == (
        str(good), "ready", False,
    )  # fmt: skip
    assert uploaded["file"]["image"]["width"] == 40 and uploaded["error"] is None
    assert (missing["state"], missing["file"], missing["error"]["code"]) == (
        "failed", None, "UNREADABLE_SOURCE",
    )  # fmt: skip


def test_deduplicated_files_complete_the_total_and_are_counted(
    deduplicating_server: RunningServer, tmp_path: Path
) -> None:
    cli = Cli(deduplicating_server, f"cli-{uuid.uuid4().hex[:8]}")
    folder = photo_folder(tmp_path)
    beach, boat = str(folder / "beach.jpg"), str(folder / "boat.png")
    assert cli("upload", beach, "--wait").returncode == 0
    recording = tmp_path / "screen.txt"

    again = cli("upload", beach, boat, "--wait", "--record", str(recording))

    assert again.returncode == 0, again.stderr
    details = {row[0]: row[3] for row in rows(again.stdout)}
    assert "deduplicated" in details[beach] and "deduplicated" not in details[boat]
    assert "2 files: 2 ready; 1 deduplicated" in again.stderr
    [total] = [line for line in recording.read_text().splitlines() if line.startswith("total")]
    sent = re.search(r"([\d.]+)/([\d.]+) (bytes|kB|MB)", total)
    assert sent is not None and sent[1] == sent[2], total  # the bar is complete
    assert "2/2 files" in total and total.rstrip().endswith("0:00:00"), total


# --- files -----------------------------------------------------------------------------


def test_files_ls_show_download_and_rm(cli: Cli, tmp_path: Path) -> None:
    folder = photo_folder(tmp_path)
    long_name = folder / ("a-long-file-name-that-would-not-fit-in-eighty-columns-" * 2 + ".png")
    long_name.write_bytes(images.png_bytes(20, 20))
    beach_path = str(folder / "beach.jpg")
    assert cli("upload", beach_path, str(folder / "boat.png"), str(long_name)).returncode == 0

    listed = cli.json("files", "ls")
    by_name = {f["filename"]: f for f in listed}
    assert set(by_name) == {"beach.jpg", "boat.png", long_name.name}
    beach = by_name["beach.jpg"]
    shown = cli.json("files", "show", beach["id"])
    assert (shown["state"], shown["filename"]) == ("ready", "beach.jpg")
    assert cli.json("files", "ls", "--state", "ready", "--limit", "1") == [listed[0]]
    table = cli("files", "ls")
    assert [row[0] for row in rows(table.stdout)] == [f["id"] for f in listed]
    assert {row[4] for row in rows(table.stdout)} == set(by_name)
    assert "3 files" in table.stderr
    details = {row[0]: row[1] for row in rows(cli("files", "show", beach["id"]).stdout)}
    assert (details["id"], details["state"], details["image"]) == (
        beach["id"],
        "ready",
        "640x480 JPEG",
    )

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


def test_download_into_a_folder_uses_the_files_name_and_refuses_a_missing_folder(
    cli: Cli, tmp_path: Path
) -> None:
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(images.jpeg_bytes(64, 48))
    [uploaded] = cli.json("upload", str(photo))
    file_id = uploaded["file"]["id"]
    folder = tmp_path / "existing"
    folder.mkdir()

    into_folder = cli("files", "download", file_id, "-o", str(folder))
    missing_folder = cli("files", "download", file_id, "-o", f"{tmp_path / 'missing-dir'}/")
    missing_parent = cli("files", "download", file_id, "-o", str(tmp_path / "nope" / "x.jpg"))

    assert into_folder.returncode == 0, into_folder.stderr
    assert (folder / "harbour.jpg").read_bytes() == photo.read_bytes()
    assert missing_folder.returncode == 2
    assert f"no such folder: {tmp_path / 'missing-dir'}" in missing_folder.stderr
    assert missing_parent.returncode == 2
    assert f"no such folder: {tmp_path / 'nope'}" in missing_parent.stderr
    assert not (tmp_path / "missing-dir").exists() and not (tmp_path / "nope").exists()


def test_remote_commands_need_a_token(cli: Cli) -> None:
    cli.env.pop("FILEGATE_TOKEN")

    result = cli("files", "ls")

    assert result.returncode == 2 and "FILEGATE_TOKEN" in result.stderr
