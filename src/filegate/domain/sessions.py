"""Anonymous guest sessions, the purge of an owner's files, and rate-limit decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from filegate.domain.models import Owner, OwnerKind


class SessionEnd(StrEnum):
    """Why a session ended."""

    LOGOUT = "logout"
    EXPIRED = "expired"
    CLAIMED = "claimed"


@dataclass(frozen=True)
class GuestSession:
    """An anonymous session: it owns files until it ends (logout, expiry) or is claimed.

    ``client_hash`` is a keyed hash of the creating client's address (rate limiting and
    abuse investigation, never the address itself). ``purge_requested_at`` and
    ``purged_at`` track the deletion of its files after it ended (not after a claim).
    """

    id: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    end_reason: SessionEnd | None = None
    claimed_by: str | None = None
    client_hash: str | None = None
    purge_requested_at: datetime | None = None
    purged_at: datetime | None = None

    @property
    def owner(self) -> Owner:
        return Owner(OwnerKind.SESSION, self.id)

    def is_live(self, now: datetime) -> bool:
        """Whether its token may be used: not ended and not past its expiry."""
        return self.ended_at is None and now < self.expires_at


@dataclass(frozen=True)
class Claim:
    """A session claimed by a user, and the files that moved to the user by this call."""

    session: GuestSession
    file_ids: tuple[str, ...]


@dataclass(frozen=True)
class OwnerPurge:
    """Work message: delete the files of ``owner`` (an owner key), a batch at a time."""

    owner: str


@dataclass(frozen=True)
class RateDecision:
    """Whether one more hit fits its window, and when to try again if not."""

    allowed: bool
    retry_after: timedelta
    hits: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed rate window holding ``now`` (windows tile time from the epoch)."""
    return now - (now - _EPOCH) % window
