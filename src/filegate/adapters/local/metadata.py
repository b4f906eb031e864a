"""An object's recorded SHA-256: an extended attribute on its inode, else a sidecar file.

Both record the SHA-256, size and modification time (ns) of the file they describe (the
sidecar, a text line, also its inode; the attribute, 48 packed bytes, is small enough for
ext4 to keep inside the inode instead of in a block of its own). A record that no longer
matches the file is ignored: the file is then hashed once and the record rewritten.
Every function here blocks.

The attribute is set on the temporary file before it is fsynced and linked into place,
so it is durable with the bytes and appears with the object's name, never apart from it.
Not every filesystem takes user attributes (tmpfs before Linux 6.6, some network and
container filesystems; macOS has no ``os.setxattr``): there the sidecar, written after
publishing, is a cache that a crash may lose, costing one rehash.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import struct
import uuid
from pathlib import Path

from filegate.domain.models import ObjectInfo

log = logging.getLogger(__name__)

ATTRIBUTE = "user.filegate"
_PACKED = struct.Struct("<32sQQ")  # SHA-256 digest, size, mtime_ns
_HASH_BLOCK_BYTES = 1 << 20
_ABSENT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)
_UNSUPPORTED = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.ENOSYS})


def record_on_inode(fd: int, sha256: str) -> bool:
    """Attach ``sha256`` to the open file ``fd`` (written, not yet published).

    Returns whether the filesystem took it; ``False`` asks for :func:`write_sidecar_quietly`
    after publishing. Other failures (a full disk) raise ``OSError``.
    """
    if not hasattr(os, "setxattr"):
        return False
    st = os.fstat(fd)
    try:
        os.setxattr(fd, ATTRIBUTE, _PACKED.pack(bytes.fromhex(sha256), st.st_size, st.st_mtime_ns))
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


def object_info(key: str, path: Path, tmp_dir: Path) -> ObjectInfo | None:
    """Size and SHA-256 of the regular file at ``path``, from its record when that still
    describes the file, else by hashing it (and rewriting the record); ``None`` if absent."""
    try:
        st = path.stat()
    except _ABSENT:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    sha256 = _read_attribute(path, st) or _read_sidecar(path, st) or _rehash(path, tmp_dir)
    return ObjectInfo(key, st.st_size, sha256)


def _read_attribute(path: Path, st: os.stat_result) -> str | None:
    if not hasattr(os, "getxattr"):
        return None
    try:
        digest, size, mtime_ns = _PACKED.unpack(os.getxattr(path, ATTRIBUTE))
    except (OSError, struct.error):
        return None
    return digest.hex() if (size, mtime_ns) == (st.st_size, st.st_mtime_ns) else None


def _rehash(path: Path, tmp_dir: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK_BYTES):
            digest.update(block)
        sha256 = digest.hexdigest()
        if not _record_quietly(handle.fileno(), path, sha256):
            write_sidecar_quietly(path, tmp_dir, sha256, os.fstat(handle.fileno()))
    return sha256


def _record_quietly(fd: int, path: Path, sha256: str) -> bool:
    try:
        return record_on_inode(fd, sha256)
    except OSError as exc:
        log.warning("could not record the SHA-256 of %s: %s", path.name, exc.strerror)
        return False


def sidecar_of(path: Path) -> Path:
    """Where the sidecar of the object file ``path`` lives (beside it, a dot name)."""
    return path.with_name(f".{path.name}.sha256")


def _read_sidecar(path: Path, st: os.stat_result) -> str | None:
    try:
        sha256, inode, size, mtime_ns = sidecar_of(path).read_text().split()
        recorded = (int(inode), int(size), int(mtime_ns))
    except (OSError, ValueError):
        return None
    return sha256 if recorded == (st.st_ino, st.st_size, st.st_mtime_ns) else None


def write_sidecar_quietly(path: Path, tmp_dir: Path, sha256: str, st: os.stat_result) -> None:
    """Record ``sha256`` for the file ``st`` describes; a failure only costs a rehash later."""
    temporary = tmp_dir / f"{uuid.uuid4().hex}.sidecar"
    try:
        temporary.write_text(f"{sha256} {st.st_ino} {st.st_size} {st.st_mtime_ns}\n")
        temporary.replace(sidecar_of(path))
    except OSError as exc:
        log.warning("could not write the sidecar of %s: %s", path.name, exc.strerror)
    finally:
        temporary.unlink(missing_ok=True)
