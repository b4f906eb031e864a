"""Bearer tokens (JWT): verifying them into owners and credentials, and minting them.

filegate mints its own session and upload-grant tokens with HS256 and the secret, also
when user tokens come from an identity provider (a fixed RS256/EdDSA key, or an OpenID
Connect issuer's published keys, see :mod:`filegate.adapters.oidc`): such a deployment
accepts an HS256 token only when filegate issued it (``iss``) for a session or a grant.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TypeGuard

import jwt

from filegate.adapters.oidc import OidcVerifier
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.grants import UploadGrant
from filegate.domain.models import Owner, OwnerKind
from filegate.domain.ports import Clock
from filegate.domain.principals import Credential, PrincipalKind
from filegate.domain.sessions import GuestSession

SESSION_CLAIM = "sid"
GRANT_CLAIM = "grant"
ISSUER = "filegate"
_ASYMMETRIC = frozenset({"RS256", "EdDSA"})
VERIFIED_TOKENS_KEPT = 4096
"""Tokens whose signature was checked, remembered so that a client's next request with the
same token skips the signature and the JSON (its lifetime is still judged every time)."""


class TokenAuthority:
    """Checks bearer JWTs (HS256 with a secret, or RS256/EdDSA with a public key).

    ``sub`` names a user; a ``sid`` claim names an anonymous session, which then owns the
    files; a ``grant`` claim names an upload grant. Tokens must carry ``exp``.
    """

    def __init__(
        self,
        secret: str,
        clock: Clock,
        algorithm: str = "HS256",
        public_key: str | None = None,
        *,
        oidc: OidcVerifier | None = None,
    ) -> None:
        if algorithm in _ASYMMETRIC and not public_key:
            raise ValueError(f"{algorithm} needs a public key (FILEGATE_JWT_PUBLIC_KEY)")
        self._secret = secret
        self._clock = clock
        self._algorithm = algorithm
        self._verify_key = _read_key(public_key) if algorithm in _ASYMMETRIC else secret
        self._oidc = oidc
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._signed_claims)

    async def authenticate(self, token: str) -> Credential:
        """:meth:`credential_of`, and also tokens of the OIDC issuer when one is configured.

        A token whose ``iss`` is the OIDC issuer is checked against that issuer's keys
        only, and always names a user (its ``sub``): an identity provider cannot mint
        filegate's session or grant tokens.
        """
        if self._oidc is not None and self._oidc.issued(token):
            claims = await self._oidc.claims_of(token)
            subject = claims.get("sub")
            if not isinstance(subject, str) or not subject:
                raise _unauthenticated("The token names no user (sub).")
            return Credential(PrincipalKind.USER, subject)
        return self.credential_of(token)

    def owner_of(self, token: str) -> Owner:
        """The owner a valid token names; UNAUTHENTICATED for anything else.

        ``exp`` (required) and ``nbf`` are checked against this authority's clock, the one
        :meth:`mint` uses, rather than PyJWT's system clock.
        """
        return _owner_from(self._claims(token))

    def credential_of(self, token: str) -> Credential:
        """What a valid token names: a grant (``grant``), else a session (``sid``), else a
        user (``sub``); UNAUTHENTICATED for anything else. Times are judged as in
        :meth:`owner_of`; whether the session or grant is still live is not checked here.
        """
        claims = self._claims(token)
        for kind, claim in _CREDENTIAL_CLAIMS:
            value = claims.get(claim)
            if isinstance(value, str) and value:
                return Credential(kind, value)
        raise _unauthenticated("The token names no user (sub), session (sid) or grant.")

    def mint_session(self, session: GuestSession) -> str:
        """The token of a guest session, valid until the session expires."""
        return self._mint_own(SESSION_CLAIM, session.id, session.created_at, session.expires_at)

    def mint_grant(self, grant: UploadGrant) -> str:
        """The write-only token of an upload grant, valid until the grant expires.

        The same grant always gives the same token, so it can be shown again (QR code).
        """
        return self._mint_own(GRANT_CLAIM, grant.id, grant.created_at, grant.expires_at)

    def _mint_own(self, claim: str, value: str, issued: datetime, expires: datetime) -> str:
        claims: dict[str, object] = {
            "iss": ISSUER,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            claim: value,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def _claims(self, token: str) -> Mapping[str, object]:
        """The verified claims of ``token``, within their lifetime."""
        claims = self._verified(token)
        if not _in_lifetime(claims, self._clock.now()):
            raise _unauthenticated("The bearer token is invalid or expired.")
        return claims

    def _signed_claims(self, token: str) -> Mapping[str, object]:
        """The claims of ``token`` if its signature (and issuer, for HS256 beside a public
        key) is good; raises otherwise, so only good tokens are remembered."""
        if self._algorithm in _ASYMMETRIC and _header_algorithm(token) == "HS256":
            claims = _decode(token, self._secret, "HS256")
            if not _issued_here(claims):
                raise _unauthenticated("The bearer token is invalid or expired.")
        else:
            claims = _decode(token, self._verify_key, self._algorithm)
        return MappingProxyType(claims)

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


_CREDENTIAL_CLAIMS = (
    (PrincipalKind.GRANT, GRANT_CLAIM),
    (PrincipalKind.SESSION, SESSION_CLAIM),
    (PrincipalKind.USER, "sub"),
)
"""Most restricted first: a grant claim always restricts, whatever else the token says."""


def _decode(token: str, key: str, algorithm: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            # PyJWT would judge the times by the system clock; the caller judges them.
            options={
                "require": ["exp"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise _unauthenticated("The bearer token is invalid or expired.") from exc
    return claims


def _header_algorithm(token: str) -> object:
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise _unauthenticated("The bearer token is invalid or expired.") from exc


def _issued_here(claims: dict[str, object]) -> bool:
    """Whether filegate minted these claims for a session or a grant (never for a user)."""
    own = any(isinstance(claims.get(c), str) for c in (SESSION_CLAIM, GRANT_CLAIM))
    return claims.get("iss") == ISSUER and own


def _in_lifetime(claims: Mapping[str, object], now: datetime) -> bool:
    """Whether ``exp`` and ``nbf`` (when present) are numbers with ``nbf <= now < exp``."""
    at = now.timestamp()
    expires, not_before = claims.get("exp"), claims.get("nbf", at)
    return _is_number(expires) and _is_number(not_before) and not_before <= at < expires


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _owner_from(claims: Mapping[str, object]) -> Owner:
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
