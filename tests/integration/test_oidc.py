"""Tokens of an OIDC issuer: discovery, key rotation, rate-limited refetch, times, outage.

Against a real provider on loopback (tests/support/oidc_provider.py), through
``TokenAuthority.authenticate`` as the API calls it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from filegate.adapters.oidc import OidcIssuer, OidcVerifier
from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import ManualClock, SystemClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.ports import Clock
from filegate.domain.principals import Credential, PrincipalKind
from filegate.domain.sessions import GuestSession
from tests.support.oidc_provider import Provider, running_provider

SECRET = "a-test-secret-of-enough-length-for-hs256"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


def authority(
    provider: Provider, clock: Clock | None = None, **options: Any
) -> tuple[TokenAuthority, OidcVerifier]:
    """An authority accepting ``provider``'s tokens (audience ``filegate``), and its verifier."""
    issuer = OidcIssuer(issuer=provider.issuer, audience="filegate", **options)
    verifier = OidcVerifier(issuer, clock or SystemClock())
    return TokenAuthority(SECRET, clock or SystemClock(), oidc=verifier), verifier


@pytest.fixture
async def tokens(provider: Provider) -> AsyncIterator[TokenAuthority]:
    tokens, verifier = authority(provider, refetch_interval_seconds=0.2)
    yield tokens
    await verifier.close()


async def refused(tokens: TokenAuthority, token: str) -> bool:
    try:
        await tokens.authenticate(token)
    except FilegateError as error:
        assert error.code is ErrorCode.UNAUTHENTICATED
        return True
    return False


async def test_a_token_of_the_issuer_names_its_subject_found_through_discovery(
    provider: Provider, tokens: TokenAuthority
) -> None:
    kid = provider.new_key()
    credential = await tokens.authenticate(provider.token(kid, sub="alice"))
    assert credential == Credential(PrincipalKind.USER, "alice")
    assert provider.jwks_requests == 1


async def test_keys_are_cached_between_tokens(provider: Provider, tokens: TokenAuthority) -> None:
    kid = provider.new_key()
    for _ in range(5):
        await tokens.authenticate(provider.token(kid))
    assert provider.jwks_requests == 1


async def test_a_rotated_key_is_fetched_once_and_a_withdrawn_one_stops_working(
    provider: Provider,
) -> None:
    tokens, verifier = authority(provider, refetch_interval_seconds=0.2, cache_seconds=0.5)
    old = provider.new_key()
    old_token = provider.token(old)
    assert (await tokens.authenticate(old_token)).id == "alice"
    new = provider.new_key()  # rotation: the new key is published beside the old
    await asyncio.sleep(0.25)  # past the refetch interval since the first fetch
    assert (await tokens.authenticate(provider.token(new, sub="bob"))).id == "bob"
    assert provider.jwks_requests == 2  # one refetch for the unknown kid
    provider.withdraw(old)
    await asyncio.sleep(0.6)  # past the cache lifetime: the next token refreshes the set
    assert await refused(tokens, old_token)
    assert (await tokens.authenticate(provider.token(new))).id == "alice"
    await verifier.close()


async def test_a_flood_of_unknown_key_ids_fetches_at_most_once_per_interval(
    provider: Provider,
) -> None:
    tokens, verifier = authority(provider, refetch_interval_seconds=60)
    provider.new_key()
    unpublished = provider.new_key(publish=False)
    made_up = [provider.token(unpublished, jti=str(i)) for i in range(50)]
    results = await asyncio.gather(*(refused(tokens, token) for token in made_up))
    assert all(results)
    assert provider.jwks_requests == 1
    await verifier.close()


async def test_wrong_issuer_audience_or_signature_is_refused(
    provider: Provider, tokens: TokenAuthority
) -> None:
    kid = provider.new_key()
    assert await refused(tokens, provider.token(kid, audience="someone-else"))
    forged = provider.token(kid)[:-4] + "AAAA"
    assert await refused(tokens, forged)
    other = provider.token(kid, iss="https://evil.example")  # not routed to OIDC at all
    assert await refused(tokens, other)


async def test_expiry_is_judged_with_the_configured_skew(provider: Provider) -> None:
    clock = ManualClock(datetime.now(UTC))
    tokens, verifier = authority(provider, clock, clock_skew_seconds=30)
    kid = provider.new_key()
    now = int(clock.now().timestamp())
    token = provider.token(kid, iat=now - 600, exp=now - 20)  # expired 20 s ago
    assert (await tokens.authenticate(token)).id == "alice"  # within the 30 s skew
    late = provider.token(kid, iat=now - 600, exp=now - 40)
    assert await refused(tokens, late)
    future = provider.token(kid, iat=now + 120, exp=now + 600)  # issued in the future
    assert await refused(tokens, future)
    await verifier.close()


async def test_cached_keys_keep_working_while_the_provider_is_down(provider: Provider) -> None:
    tokens, verifier = authority(provider, refetch_interval_seconds=0, cache_seconds=0.2)
    kid = provider.new_key()
    assert (await tokens.authenticate(provider.token(kid))).id == "alice"
    provider.down = True
    await asyncio.sleep(0.3)  # the cache is stale: a refresh is tried, and fails
    assert (await tokens.authenticate(provider.token(kid))).id == "alice"
    unknown = provider.new_key()
    assert await refused(tokens, provider.token(unknown))
    await verifier.close()


async def test_filegates_own_tokens_still_work_beside_the_issuer(
    provider: Provider, tokens: TokenAuthority
) -> None:
    now = datetime.now(UTC)
    session = GuestSession("s-1", now, now + timedelta(hours=1))
    token = tokens.mint_session(session)
    assert await tokens.authenticate(token) == Credential(PrincipalKind.SESSION, "s-1")


async def test_an_issuer_token_can_never_name_a_session_or_grant(
    provider: Provider, tokens: TokenAuthority
) -> None:
    kid = provider.new_key()
    credential = await tokens.authenticate(provider.token(kid, sid="s-9", grant="g-9"))
    assert credential == Credential(PrincipalKind.USER, "alice")


def test_symmetric_algorithms_and_missing_audience_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        OidcIssuer(issuer="https://id.example", audience="filegate", algorithms=("HS256",))
    with pytest.raises(ValueError, match="audience"):
        OidcIssuer(issuer="https://id.example", audience="")
