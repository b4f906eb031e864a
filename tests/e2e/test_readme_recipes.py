"""The README's shell recipes, run as they stand: the curl walkthrough on both shapes, and
the local recipe of the distributed shape (moto's server, PostgreSQL, one API, one worker).

A recipe is the ``sh`` block after a ``<!-- recipe: NAME -->`` line. Each runs in bash with
``set -euo pipefail``; only ports and the database come from the environment, through the
defaults the recipes themselves declare (``${FILEGATE_PORT:-8000}`` and the like).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.e2e.guest_flow import user_token
from tests.e2e.server import RunningServer, filegate_command, free_port, running_server
from tests.support import images

pytestmark = pytest.mark.e2e

README = Path(__file__).parents[2] / "README.md"
RECIPE_SECONDS = 180


def recipe(name: str) -> str:
    """The shell block the README marks ``<!-- recipe: NAME -->``."""
    pattern = rf"<!-- recipe: {re.escape(name)} -->\n```sh\n(.*?)```"
    found = re.search(pattern, README.read_text(), re.DOTALL)
    assert found, f"README has no recipe {name!r}"
    return found.group(1)


def run_recipes(names: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    """Run the recipes one after the other in one bash; kill what they left running."""
    script = "set -euo pipefail\n" + "\n".join(recipe(name) for name in names)
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=_clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its background jobs share its process group
    )
    try:
        output, _ = process.communicate(timeout=RECIPE_SECONDS)
    finally:
        _kill_group(process.pid)
    assert process.returncode == 0, output + _logs(cwd)
    return output


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without filegate or AWS settings, with the venv's commands first."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("FILEGATE_", "AWS_", "MOTO_"))
    }
    venv_bin = str(Path(filegate_command()).parent)
    return {**inherited, "PATH": f"{venv_bin}:{inherited.get('PATH', '')}", **extra}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return


def _logs(cwd: Path) -> str:
    return "".join(f"\n--- {log.name}\n{log.read_text()[-3000:]}" for log in cwd.glob("*.log"))


def _photo_folder(tmp_path: Path) -> Path:
    (tmp_path / "photo.jpg").write_bytes(images.jpeg_bytes(640, 480))
    return tmp_path


def _assert_walkthrough_worked(output: str) -> None:
    lines = output.strip().splitlines()
    assert "200" in lines, output  # the PUT
    waited = json.loads(next(line for line in lines if line.startswith("{")))
    assert (waited["state"], waited["image"]["width"]) == ("ready", 640), output
    assert lines[-1] == "identical", output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("readme") / "data") as running:
        yield running


def test_the_curl_walkthrough_works_on_the_embedded_shape(
    server: RunningServer, tmp_path: Path
) -> None:
    env = {"FILEGATE_PUBLIC_URL": server.url, "FILEGATE_TOKEN": user_token("readme")}

    output = run_recipes(["upload"], _photo_folder(tmp_path), env)

    _assert_walkthrough_worked(output)


@pytest.mark.postgres
def test_the_distributed_recipe_then_the_walkthrough_work_on_one_machine(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {
        "MOTO_PORT": str(free_port()),
        "FILEGATE_PORT": str(free_port()),
        "FILEGATE_DATABASE_URL": postgres_url,
    }

    output = run_recipes(["distributed", "upload"], _photo_folder(tmp_path), env)

    _assert_walkthrough_worked(output)
