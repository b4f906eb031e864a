"""How the local store's OS failures reach clients: a full disk is 507, other I/O 503."""

from __future__ import annotations

import errno

import pytest

from filegate.adapters.local.disk import disk_errors
from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError
from filegate.http.problems import STATUS


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_no_space_left_is_storage_full(number: int) -> None:
    with pytest.raises(FilegateError) as caught, disk_errors():
        raise OSError(number, "No space left on device")
    assert caught.value.code is ErrorCode.STORAGE_FULL
    assert STATUS[caught.value.code] == 507


def test_another_io_error_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable), disk_errors():
        raise OSError(errno.EIO, "Input/output error")


def test_absence_passes_through() -> None:
    with pytest.raises(FileNotFoundError), disk_errors():
        raise FileNotFoundError(errno.ENOENT, "gone")
