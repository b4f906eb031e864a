"""Directory fsyncs shared by concurrent publishers (a group commit), for worker threads.

After linking an object into a folder, a publisher needs some fsync of that folder that
*started after its link*. When several publish into one folder at once (one owner's
photos), the first runs the fsync and those arriving meanwhile wait for it to end, then
one of them runs the next, which covers them all: under load a folder costs one fsync
per round, not one per object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from filegate.adapters.local.disk import fsync_dir


class _Folder:
    """The fsync rounds of one folder: numbered when they start, and the last one done."""

    def __init__(self) -> None:
        self.started = 0
        self.done = 0
        self.running = False
        self.users = 0


class DirectorySyncer:
    """``sync(folder)`` returns once an fsync of ``folder`` begun after the call has ended."""

    def __init__(self, fsync: Callable[[Path], None] = fsync_dir) -> None:
        self._fsync = fsync
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._folders: dict[Path, _Folder] = {}

    def sync(self, folder: Path) -> None:
        """Make ``folder``'s entries durable; raises the ``OSError`` of a failed fsync."""
        with self._lock:
            state = self._folders.setdefault(folder, _Folder())
            state.users += 1
            try:
                self._await_round(folder, state, state.started + 1)
            finally:
                state.users -= 1
                if state.users == 0:
                    del self._folders[folder]

    def callers(self, folder: Path) -> int:
        """How many ``sync(folder)`` calls are under way."""
        with self._lock:
            state = self._folders.get(folder)
            return 0 if state is None else state.users

    def _await_round(self, folder: Path, state: _Folder, wanted: int) -> None:
        """Wait (holding the lock between rounds) until round ``wanted`` has succeeded,
        running it ourselves when no round is under way."""
        while state.done < wanted:
            if state.running:
                self._changed.wait()
                continue
            state.running = True
            state.started += 1
            this_round = state.started
            self._lock.release()
            try:
                self._fsync(folder)
            finally:
                self._lock.acquire()
                state.running = False
                self._changed.notify_all()
            state.done = this_round
