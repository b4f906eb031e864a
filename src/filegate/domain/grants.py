"""Upload grants: short-lived, write-only credentials for a second device."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UploadGrant:
    """Lets whoever holds its token register up to ``uses_total`` files for ``owner``.

    ``owner`` is an owner key (``user:alice``, ``session:…``). A grant is usable while
    it is not revoked and not past ``expires_at``; each registered file takes one use.
    """

    id: str
    owner: str
    created_at: datetime
    expires_at: datetime
    uses_total: int
    uses_left: int
    revoked_at: datetime | None = None
    code: str | None = None
    """The short link's code (``/g/<code>``); ``None`` for grants issued before short links."""

    def is_usable(self, now: datetime) -> bool:
        """Whether its token authenticates: not revoked and not expired (uses aside)."""
        return self.revoked_at is None and now < self.expires_at

    def takes_files(self, now: datetime) -> bool:
        """Whether it can still register a file: usable, with a use left."""
        return self.is_usable(now) and self.uses_left > 0
