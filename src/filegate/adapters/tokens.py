"""Bearer tokens (JWT): verifying them into owners, and minting them for users and sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeGuard

import jwt

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Owner, OwnerKind
from filegate.domain.ports import Clock

SESSION_CLAIM = "sid"
ISSUER = "filegate"
_ASYMMETRIC = frozenset({"RS256", "EdDSA"})


class TokenAuthority:
    """Checks bearer JWTs (HS256 with a secret, or RS256/EdDSA with a public key).

    ``sub`` names a user; a ``sid`` claim names an anonymous session, which then owns the
    files. Tokens must carry ``exp``.
    """

    def __init__(
        self, secret: str, clock: Clock, algorithm: str = "HS256", public_key: str | None = None
    ) -> None:
        if algorithm in _ASYMMETRIC and not public_key:
            raise ValueError(f"{algorithm} needs a public key (FILEGATE_JWT_PUBLIC_KEY)")
        self._secret = secret
        self._clock = clock
        self._algorithm = algorithm
        self._verify_key = _read_key(public_key) if algorithm in _ASYMMETRIC else secret

    def owner_of(self, token: str) -> Owner:
        """The owner a valid token names; UNAUTHENTICATED for anything else.

        ``exp`` (required) and ``nbf`` are checked against this authority's clock, the one
        :meth:`mint` uses, rather than PyJWT's system clock.
        """
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self._algorithm],
                # PyJWT would judge the times by the system clock; they are judged below.
                options={
                    "require": ["exp"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise _unauthenticated("The bearer token is invalid or expired.") from exc
        if not _in_lifetime(claims, self._clock.now()):
            raise _unauthenticated("The bearer token is invalid or expired.")
        return _owner_from(claims)

    def mint(self, owner: Owner, ttl: timedelta) -> str:
        """A token for ``owner`` valid for ``ttl`` (HS256 only: we hold no private key)."""
        if self._algorithm != "HS256":
            raise ValueError("minting needs HS256; sign tokens with your identity provider")
        now = self._clock.now()
        claims: dict[str, object] = {
            "iss": ISSUER,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        if owner.kind is OwnerKind.SESSION:
            claims[SESSION_CLAIM] = owner.id
        else:
            claims["sub"] = owner.id
        return jwt.encode(claims, self._secret, algorithm="HS256")


def _in_lifetime(claims: dict[str, object], now: datetime) -> bool:
    """Whether ``exp`` and ``nbf`` (when present) are numbers with ``nbf <= now < exp``."""
    at = now.timestamp()
    expires, not_before = claims.get("exp"), claims.get("nbf", at)
    return _is_number(expires) and _is_number(not_before) and not_before <= at < expires


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _owner_from(claims: dict[str, object]) -> Owner:
    session = claims.get(SESSION_CLAIM)
    if isinstance(session, str) and session:
        return Owner(OwnerKind.SESSION, session)
    subject = claims.get("sub")
    if isinstance(subject, str) and subject:
        return Owner(OwnerKind.USER, subject)
    raise _unauthenticated("The token names no user (sub) or session (sid).")


def _unauthenticated(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.UNAUTHENTICATED, detail)


def _read_key(value: str | None) -> str:
    assert value is not None
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()
