"""Scratch virtualenvs for the packaging tests: create one, install into it, list it.

Each install takes the exact versions of the repository's ``constraints.txt`` (as the
Makefile does), from the registry or the shared package cache, with the Makefile's installer:
uv where the running venv has it, else pip. Sources are copied first so that building them
leaves nothing (``build/``, ``*.egg-info``) in the work tree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
INSTALL_TIMEOUT = 540
UV = Path(sys.executable).with_name("uv")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "filegate-data")


def fresh_venv(where: Path) -> Path:
    """A new virtualenv holding nothing but its installer (pip, or none with uv); its ``python``."""
    if UV.exists():
        subprocess.run(
            [str(UV), "venv", "--quiet", "--python", sys.executable, str(where)], check=True
        )
    else:
        venv.create(where, with_pip=True)
    return where / "bin" / "python"


def _pip(python: Path, *arguments: str) -> list[str]:
    if UV.exists():
        return [str(UV), "pip", arguments[0], "--python", str(python), *arguments[1:]]
    return [str(python), "-m", "pip", *arguments]


def copy_source(relative: str, into: Path) -> Path:
    """A copy of the repository's ``relative`` folder or file under ``into``."""
    source, target = REPO / relative, into / relative
    if source.is_dir():
        shutil.copytree(source, target, ignore=_IGNORED)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return target


def pip_install(python: Path, *requirements: str) -> None:
    """``pip install -c constraints.txt REQUIREMENTS``; its output in the error if it fails."""
    as_make = ["--system-certs", "--compile-bytecode"] if UV.exists() else []  # as make passes
    command = _pip(python, "install", "--quiet", *as_make, "-c", str(CONSTRAINTS))
    result = subprocess.run(
        [*command, *requirements], capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def installed(python: Path) -> set[str]:
    """The normalised names of the distributions installed in ``python``'s environment."""
    listing = subprocess.run(
        _pip(python, "list", "--format=json"),
        capture_output=True,
        text=True,
        check=True,
    )
    return {_normalised(entry["name"]) for entry in json.loads(listing.stdout)}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
