"""The embedded shape never imports what the extras bring, even where they are installed.

A fresh interpreter runs the ``filegate`` command's modules and opens the embedded runtime
with its app, then reports which optional modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.server import SECRET

OPTIONAL_MODULES = (
    "aiobotocore", "botocore", "aiohttp", "boto3", "psycopg",
    "filegate.adapters.s3", "filegate.adapters.sqs", "filegate.bootstrap.provisioning",
    "opentelemetry.sdk", "opentelemetry.exporter",
)  # fmt: skip

PROBE = f"""
import asyncio, sys
import filegate.cli.app, filegate.cli.runner
from filegate.bootstrap.runtime import open_runtime
from filegate.config import Settings

async def main() -> None:
    async with open_runtime(Settings()) as runtime:
        runtime.app()

asyncio.run(main())
optional = {OPTIONAL_MODULES!r}
below = tuple(name + "." for name in optional)
print(sorted(m for m in sys.modules if m in optional or m.startswith(below)))
"""


def test_opening_the_embedded_runtime_imports_no_optional_module(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILEGATE_")}
    env.update({"FILEGATE_DATA_DIR": str(tmp_path / "data"), "FILEGATE_SECRET": SECRET})

    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
