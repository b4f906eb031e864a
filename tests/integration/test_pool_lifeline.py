"""Decode children die with their worker, and quietly: SIGKILL a real process holding a pool.

The worker stand-in is a Python process with a two-process pool: one child has finished a
decode (idle), the other is stuck on a FIFO nobody writes to (busy). Its stderr, shared with
the children, is kept in a file to prove that nothing, no traceback, was printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import images

PARENT = """
import asyncio, sys
from pathlib import Path
from filegate.imaging.inspect import ImageLimits
from filegate.imaging.pool import ProcessPoolInspector

async def main() -> None:
    limits = ImageLimits(allowed_types=("image/jpeg",), max_pixels=10**8, max_frames=10)
    pool = ProcessPoolInspector(limits, 2, 600.0, 1024)
    await asyncio.gather(pool.inspect(Path(sys.argv[1])), pool.inspect(Path(sys.argv[1])))
    stuck = asyncio.create_task(pool.inspect(Path(sys.argv[2])))
    await asyncio.sleep(0)
    print("ready", flush=True)
    await stuck

asyncio.run(main())
"""


def live_children(parent: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``parent``, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(ppid) == parent and state != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.02)
    return False


def test_children_die_with_a_killed_worker_without_a_traceback(tmp_path: Path) -> None:
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(images.jpeg_bytes())
    fifo = tmp_path / "endless.jpg"
    os.mkfifo(fifo)
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, str(jpeg), str(fifo)],
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"ready\n"
        assert wait_for(lambda: len(live_children(parent.pid)) == 2, 10)
        children = live_children(parent.pid)

        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        gone = wait_for(lambda: not any(alive(pid) for pid in children), 2)
    finally:
        parent.kill()
        parent.wait(10)
        for pid in children if "children" in locals() else ():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    assert gone, f"decode children still alive 2 s after their worker died: {children}"
    assert "Traceback" not in log.read_text(), log.read_text()
