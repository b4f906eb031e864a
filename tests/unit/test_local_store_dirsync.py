"""``DirectorySyncer``: concurrent publishers into one folder share its fsyncs, and none
returns before an fsync that began after its call has ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from filegate.adapters.local.dirsync import DirectorySyncer
from filegate.adapters.local.disk import fsync_dir


class HeldFsync:
    """The real directory fsync, counted, whose first round waits until released."""

    def __init__(self) -> None:
        self.rounds = 0
        self.first_started = threading.Event()
        self.release = threading.Event()

    def __call__(self, folder: Path) -> None:
        self.rounds += 1
        if self.rounds == 1:
            self.first_started.set()
            assert self.release.wait(10)
        fsync_dir(folder)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_callers_arriving_during_a_round_share_the_next_one(tmp_path: Path) -> None:
    fsync = HeldFsync()
    syncer = DirectorySyncer(fsync)
    first = threading.Thread(target=syncer.sync, args=(tmp_path,))
    first.start()
    assert fsync.first_started.wait(10)
    later = [threading.Thread(target=syncer.sync, args=(tmp_path,)) for _ in range(5)]
    for thread in later:
        thread.start()
    wait_for(lambda: syncer.callers(tmp_path) == 6)

    fsync.release.set()
    for thread in [first, *later]:
        thread.join(10)

    assert fsync.rounds == 2  # the held round, then one covering all five late callers
    assert syncer.callers(tmp_path) == 0


def test_a_caller_waits_for_a_round_that_began_after_its_call(tmp_path: Path) -> None:
    fsync = HeldFsync()
    syncer = DirectorySyncer(fsync)
    first = threading.Thread(target=syncer.sync, args=(tmp_path,))
    first.start()
    assert fsync.first_started.wait(10)
    late = threading.Thread(target=syncer.sync, args=(tmp_path,))
    late.start()
    wait_for(lambda: syncer.callers(tmp_path) == 2)

    fsync.release.set()
    late.join(10)

    assert fsync.rounds == 2  # the round under way when it came did not count for it


def test_separate_folders_do_not_wait_for_each_other(tmp_path: Path) -> None:
    fsync = HeldFsync()
    syncer = DirectorySyncer(fsync)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    held = threading.Thread(target=syncer.sync, args=(tmp_path / "a",))
    held.start()
    assert fsync.first_started.wait(10)

    syncer.sync(tmp_path / "b")  # returns while the round of "a" is still held

    assert held.is_alive()
    fsync.release.set()
    held.join(10)


def test_a_failed_fsync_reaches_its_caller_and_leaves_no_state(tmp_path: Path) -> None:
    syncer = DirectorySyncer()

    with pytest.raises(FileNotFoundError):
        syncer.sync(tmp_path / "missing")

    assert syncer.callers(tmp_path / "missing") == 0
    syncer.sync(tmp_path)
