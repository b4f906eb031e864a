"""File states and the only transitions allowed between them."""

from enum import StrEnum


class FileState(StrEnum):
    """Where a file is in its life; the value is what the API shows."""

    REGISTERED = "registered"
    UPLOADED = "uploaded"
    READY = "ready"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DELETED = "deleted"


_ALLOWED: frozenset[tuple[FileState, FileState]] = frozenset(
    {
        (FileState.REGISTERED, FileState.UPLOADED),
        (FileState.REGISTERED, FileState.READY),
        (FileState.REGISTERED, FileState.REJECTED),
        (FileState.REGISTERED, FileState.EXPIRED),
        (FileState.UPLOADED, FileState.READY),
        (FileState.UPLOADED, FileState.REJECTED),
    }
    | {(state, FileState.DELETED) for state in FileState if state is not FileState.DELETED}
)

FINAL_STATES: frozenset[FileState] = frozenset(
    {FileState.READY, FileState.REJECTED, FileState.EXPIRED, FileState.DELETED}
)
"""States a long-poll waits for: once here, only deletion can follow."""

AWAITING_VERIFICATION: frozenset[FileState] = frozenset({FileState.REGISTERED, FileState.UPLOADED})
"""States in which an upload event still leads to verification."""


def can_transition(current: FileState, target: FileState) -> bool:
    """Return whether a file in ``current`` may move to ``target``."""
    return (current, target) in _ALLOWED
