"""A decode child's tie to its parent: it dies with the parent, and quietly.

On Linux the kernel kills the child when the parent dies (``PR_SET_PDEATHSIG``). Elsewhere a
daemon thread watches for the parent's death (the child is re-parented, so ``getppid``
changes) and ends the process. A reply that finds the pipe closed means the parent is gone:
the child exits at once without a traceback.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5


def bind_to_parent() -> None:
    """Make this process end when its parent does; call first thing in the child."""
    parent = os.getppid()
    if not _ask_kernel():
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="lifeline").start()
    if os.getppid() != parent:  # the parent died before the tie was made
        os._exit(0)


def _ask_kernel() -> bool:
    """``prctl(PR_SET_PDEATHSIG, SIGKILL)``; False where it is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(0)


@contextlib.contextmanager
def quiet_when_orphaned() -> Iterator[None]:
    """Turn a broken pipe to the parent (it died) into an immediate, silent exit."""
    try:
        yield
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)
