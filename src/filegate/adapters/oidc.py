"""Tokens from an OpenID Connect issuer: its signing keys (JWKS) fetched, cached, rotated.

The keys come from the issuer's ``jwks_uri`` (found through its discovery document,
``/.well-known/openid-configuration``, unless configured directly). They are cached for
``cache_seconds``. A token signed with a key id (``kid``) not in the cache makes one
refetch, at most once per ``refetch_interval_seconds`` whatever the number of such tokens,
so a flood of made-up key ids cannot hammer the provider. When the provider cannot be
reached, the cached keys keep working; a key never seen stays unknown (401).

``iss`` and ``aud`` must match, ``exp`` is required, and ``exp``, ``nbf`` and ``iat`` are
judged with at most ``clock_skew_seconds`` of tolerance, on filegate's clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.ports import Clock

log = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_FETCH_TIMEOUT_SECONDS = 5.0
_MAX_DOCUMENT_BYTES = 256 * 1024


@dataclass(frozen=True, kw_only=True)
class OidcIssuer:
    """Which issuer to trust, for which audience, and how its keys are kept."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    clock_skew_seconds: float = 60.0
    cache_seconds: float = 3600.0
    refetch_interval_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("an OIDC issuer needs both an issuer URL and an audience")
        unsafe = set(self.algorithms) - ASYMMETRIC_ALGORITHMS
        if unsafe or not self.algorithms:
            raise ValueError(f"OIDC algorithms must be asymmetric, not {sorted(unsafe)}")
        if not 0 <= self.clock_skew_seconds <= 300:
            raise ValueError("the OIDC clock skew must be 0-300 seconds")


class OidcVerifier:
    """Verifies tokens of one issuer; owns an HTTP client (call :meth:`close`)."""

    def __init__(
        self, issuer: OidcIssuer, clock: Clock, client: httpx.AsyncClient | None = None
    ) -> None:
        self._issuer = issuer
        self._clock = clock
        self._client = client or httpx.AsyncClient(
            timeout=_FETCH_TIMEOUT_SECONDS, follow_redirects=False
        )
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def issuer(self) -> str:
        return self._issuer.issuer

    def issued(self, token: str) -> bool:
        """Whether ``token`` says it comes from this issuer (unverified: for routing only)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self._issuer.issuer

    async def claims_of(self, token: str) -> dict[str, object]:
        """The verified claims of ``token``; ``FilegateError(UNAUTHENTICATED)`` otherwise."""
        header = _header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self._issuer.algorithms or not isinstance(kid, str):
            raise _refused("The token's algorithm or key id is not accepted.")
        key = await self._key(kid)
        if key is None:
            raise _refused("The token is signed with a key the issuer does not publish.")
        claims = _decode(token, key, algorithm, self._issuer)
        if not _within_times(claims, self._clock.now().timestamp(), self._issuer):
            raise _refused("The bearer token is invalid or expired.")
        return claims

    async def close(self) -> None:
        await self._client.aclose()

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if self._stale() or kid not in self._keys:
            await self._refresh(unknown=kid not in self._keys)
        return self._keys.get(kid)

    def _stale(self) -> bool:
        fetched = self._fetched_at
        return fetched is None or time.monotonic() - fetched > self._issuer.cache_seconds

    async def _refresh(self, *, unknown: bool) -> None:
        """Fetch the key set, unless one was tried too recently (then keep what we have)."""
        async with self._lock:
            tried = self._tried_at
            if (
                tried is not None
                and time.monotonic() - tried < self._issuer.refetch_interval_seconds
            ):
                return
            self._tried_at = time.monotonic()
            try:
                self._keys = await self._fetch_keys()
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                log.warning(
                    "cannot fetch the OIDC signing keys: %s", exc, extra={"unknown_kid": unknown}
                )
                return
            self._fetched_at = time.monotonic()

    async def _fetch_keys(self) -> dict[str, jwt.PyJWK]:
        url = self._issuer.jwks_url or await self._discovered_jwks_url()
        document = await self._json(url)
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if isinstance(entry, dict) and isinstance(entry.get("kid"), str):
                try:
                    keys[entry["kid"]] = jwt.PyJWK(entry)
                except jwt.PyJWTError:
                    continue  # a key type or curve this build cannot use: skip it
        return keys

    async def _discovered_jwks_url(self) -> str:
        base = self._issuer.issuer.rstrip("/")
        document = await self._json(f"{base}/.well-known/openid-configuration")
        url = document.get("jwks_uri")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValueError("the discovery document names no jwks_uri")
        return url

    async def _json(self, url: str) -> dict[str, Any]:
        response = await self._client.get(url)
        response.raise_for_status()
        if len(response.content) > _MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url} answered more than {_MAX_DOCUMENT_BYTES} bytes")
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return document


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _refused("The bearer token is invalid or expired.") from exc


def _decode(token: str, key: jwt.PyJWK, algorithm: str, issuer: OidcIssuer) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=issuer.audience,
            issuer=issuer.issuer,
            # Times are judged on filegate's clock (below), with the configured skew.
            options={
                "require": ["exp", "iss", "aud", "sub"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise _refused("The bearer token is invalid or expired.") from exc
    return claims


def _within_times(claims: dict[str, object], now: float, issuer: OidcIssuer) -> bool:
    skew = issuer.clock_skew_seconds
    expires, not_before, issued = claims.get("exp"), claims.get("nbf", now), claims.get("iat", now)
    if not all(_is_number(v) for v in (expires, not_before, issued)):
        return False
    assert isinstance(expires, int | float) and isinstance(not_before, int | float)
    assert isinstance(issued, int | float)
    return not_before - skew <= now < expires + skew and issued - skew <= now


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _refused(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.UNAUTHENTICATED, detail)
