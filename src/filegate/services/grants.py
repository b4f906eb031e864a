"""Upload grants: issuing, looking up and revoking them (owner-scoped)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.grants import UploadGrant
from filegate.domain.ports import Clock, GrantRepository
from filegate.domain.principals import Principal
from filegate.services.sessions import whole_seconds


@dataclass(frozen=True)
class GrantPolicy:
    """Defaults and limits of a grant's uses and lifetime."""

    default_uses: int = 20
    max_uses: int = 500
    default_ttl: timedelta = timedelta(minutes=15)
    max_ttl: timedelta = timedelta(hours=24)


CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
"""Lower-case letters and digits without the look-alikes 0/o, 1/l/i: easy to type."""
CODE_LENGTH = 14
"""31^14 ≈ 2^69 codes. A grant lives at most a day: even a million live grants and a
thousand guesses a second for that day find one with a chance of about 1 in 10^7."""
_CODE_TRIES = 3


def new_grant_id() -> str:
    """An unguessable id (128 random bits)."""
    return secrets.token_hex(16)


def new_grant_code() -> str:
    """A short, random code for a grant's link (``CODE_LENGTH`` of ``CODE_ALPHABET``)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class GrantService:
    """Grants belong to the owner of the principal that issued them."""

    def __init__(self, grants: GrantRepository, clock: Clock, policy: GrantPolicy) -> None:
        self._grants = grants
        self._clock = clock
        self._policy = policy

    async def issue(
        self, principal: Principal, uses: int | None = None, ttl: timedelta | None = None
    ) -> UploadGrant:
        """A new grant for the principal's owner (VALIDATION_ERROR outside the limits)."""
        uses = self._policy.default_uses if uses is None else uses
        ttl = self._policy.default_ttl if ttl is None else ttl
        self._check(uses, ttl)
        now = whole_seconds(self._clock.now())
        for attempt in range(_CODE_TRIES):
            grant = UploadGrant(
                id=new_grant_id(),
                owner=principal.owner.key,
                created_at=now,
                expires_at=now + ttl,
                uses_total=uses,
                uses_left=uses,
                code=new_grant_code(),
            )
            try:
                await self._grants.add(grant)
                return grant
            except ValueError:  # a code (or id) drawn twice: astronomically rare, draw again
                if attempt == _CODE_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def resolve(self, code: str) -> UploadGrant:
        """The grant behind a short link while it can take files.

        GRANT_NOT_FOUND for a code no grant has; GRANT_ENDED for a grant that expired, was
        revoked or has no use left.
        """
        grant = await self._grants.by_code(code) if _is_code(code) else None
        if grant is None:
            raise FilegateError(ErrorCode.GRANT_NOT_FOUND, "This link is unknown.")
        if not grant.takes_files(self._clock.now()):
            raise FilegateError(
                ErrorCode.GRANT_ENDED,
                "This link has expired, was withdrawn or has been used up. Ask for a new one.",
            )
        return grant

    async def get(self, principal: Principal, grant_id: str) -> UploadGrant:
        """The owner's grant (revoked or not); GRANT_NOT_FOUND for anyone else's."""
        grant = await self._grants.get(grant_id)
        if grant is None or grant.owner != principal.owner.key:
            raise _grant_not_found()
        return grant

    async def revoke(self, principal: Principal, grant_id: str) -> None:
        """Revoke the owner's grant: its token stops working at once (idempotent)."""
        if not await self._grants.revoke(grant_id, principal.owner.key, self._clock.now()):
            raise _grant_not_found()

    def _check(self, uses: int, ttl: timedelta) -> None:
        policy = self._policy
        if not 1 <= uses <= policy.max_uses:
            raise FilegateError(
                ErrorCode.VALIDATION_ERROR,
                f"uses must be 1 to {policy.max_uses}.",
                {"limit": policy.max_uses},
            )
        max_seconds = int(policy.max_ttl.total_seconds())
        if not timedelta(seconds=1) <= ttl <= policy.max_ttl:
            raise FilegateError(
                ErrorCode.VALIDATION_ERROR,
                f"ttl_seconds must be 1 to {max_seconds}.",
                {"limit": max_seconds},
            )


def _is_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and all(c in CODE_ALPHABET for c in text)


def _grant_not_found() -> FilegateError:
    return FilegateError(ErrorCode.GRANT_NOT_FOUND, "No such upload grant.")
