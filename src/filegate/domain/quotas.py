"""Per-owner quotas: what each file counts for, and whether one more registration fits.

An owner's usage is three counters, kept exact by the repository in the same transaction
as every insert and every state change:

* ``pending`` — files waiting for bytes or verification (REGISTERED, UPLOADED);
* ``files`` and ``bytes`` — live files (REGISTERED, UPLOADED, READY), and their declared
  sizes. A rejected, expired or deleted file no longer counts.

Because a state change is a compare-and-set, a replayed event changes no state and so no
usage: usage counts once, however often events repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.states import FileState

PENDING_STATES = frozenset({FileState.REGISTERED, FileState.UPLOADED})
LIVE_STATES = PENDING_STATES | {FileState.READY}


class QuotaKind(StrEnum):
    """Which limit a registration ran into (the ``quota`` field of the problem)."""

    PENDING = "pending"
    FILES = "files"
    BYTES = "bytes"


@dataclass(frozen=True)
class Usage:
    """What an owner's files count for."""

    pending: int = 0
    files: int = 0
    bytes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.pending + other.pending, self.files + other.files, self.bytes + other.bytes
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.pending - other.pending, self.files - other.files, self.bytes - other.bytes
        )

    @property
    def is_zero(self) -> bool:
        return self == Usage()


@dataclass(frozen=True)
class QuotaLimits:
    """Per-owner limits; 0 means unlimited."""

    max_pending: int = 0
    max_files: int = 0
    max_bytes: int = 0


def usage_of(state: FileState, size: int) -> Usage:
    """What one file of ``size`` declared bytes in ``state`` counts for."""
    live = state in LIVE_STATES
    return Usage(int(state in PENDING_STATES), int(live), size if live else 0)


def usage_change(before: FileState, after: FileState, size: int) -> Usage:
    """How an owner's usage changes when one of its files moves from ``before`` to ``after``."""
    return usage_of(after, size) - usage_of(before, size)


class QuotaExceeded(FilegateError):
    """One more file does not fit: 413 QUOTA_EXCEEDED (files, bytes) or 429 TOO_MANY_PENDING.

    The problem body carries ``quota`` (which limit), ``limit`` and ``usage`` (current).
    """

    def __init__(self, kind: QuotaKind, limit: int, usage: int) -> None:
        code = ErrorCode.TOO_MANY_PENDING if kind is QuotaKind.PENDING else ErrorCode.QUOTA_EXCEEDED
        detail = {
            QuotaKind.PENDING: f"{usage} registrations wait for bytes; the limit is {limit}.",
            QuotaKind.FILES: f"The owner has {usage} files; the limit is {limit}.",
            QuotaKind.BYTES: f"The owner's files take {usage} bytes; the limit is {limit}.",
        }[kind]
        super().__init__(code, detail, {"quota": kind.value, "limit": limit, "usage": usage})
        self.kind = kind
        self.limit = limit
        self.usage = usage


def admission(usage: Usage, limits: QuotaLimits, size: int) -> QuotaExceeded | None:
    """Why a new registration of ``size`` bytes does not fit ``limits``, or ``None`` if it does.

    Hard limits (files, bytes) are reported before the pending one: waiting does not help.
    """
    if limits.max_files and usage.files + 1 > limits.max_files:
        return QuotaExceeded(QuotaKind.FILES, limits.max_files, usage.files)
    if limits.max_bytes and usage.bytes + size > limits.max_bytes:
        return QuotaExceeded(QuotaKind.BYTES, limits.max_bytes, usage.bytes)
    if limits.max_pending and usage.pending + 1 > limits.max_pending:
        return QuotaExceeded(QuotaKind.PENDING, limits.max_pending, usage.pending)
    return None
