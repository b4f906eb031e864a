"""TokenAuthority: credentials (user, session, grant) and filegate's own session/grant tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from filegate.adapters.tokens import TokenAuthority
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.grants import UploadGrant
from filegate.domain.models import Owner, OwnerKind
from filegate.domain.principals import Credential, PrincipalKind
from filegate.domain.sessions import GuestSession

SECRET = "a-test-secret-of-32-characters!!"
HOUR = timedelta(hours=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def tokens(clock: ManualClock) -> TokenAuthority:
    return TokenAuthority(SECRET, clock)


def session_at(clock: ManualClock) -> GuestSession:
    return GuestSession("s-1", clock.now(), clock.now() + HOUR)


def grant_at(clock: ManualClock) -> UploadGrant:
    return UploadGrant("g-1", "user:alice", clock.now(), clock.now() + HOUR, 5, 5)


def signed(clock: ManualClock, **claims: Any) -> str:
    return jwt.encode({"exp": int((clock.now() + HOUR).timestamp()), **claims}, SECRET, "HS256")


def refused(tokens: TokenAuthority, token: str) -> None:
    with pytest.raises(FilegateError) as raised:
        tokens.credential_of(token)
    assert raised.value.code is ErrorCode.UNAUTHENTICATED


def test_a_session_token_lives_exactly_as_long_as_its_session(
    tokens: TokenAuthority, clock: ManualClock
) -> None:
    token = tokens.mint_session(session_at(clock))

    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] == int((clock.now() + HOUR).timestamp())
    assert tokens.credential_of(token) == Credential(PrincipalKind.SESSION, "s-1")
    assert tokens.owner_of(token) == Owner(OwnerKind.SESSION, "s-1")
    clock.advance(HOUR)
    refused(tokens, token)


def test_a_grant_token_names_the_grant_and_no_owner(
    tokens: TokenAuthority, clock: ManualClock
) -> None:
    token = tokens.mint_grant(grant_at(clock))

    assert tokens.credential_of(token) == Credential(PrincipalKind.GRANT, "g-1")
    with pytest.raises(FilegateError):
        tokens.owner_of(token)  # a grant is no owner: routes taking owners refuse it


def test_the_same_grant_always_gives_the_same_token(
    tokens: TokenAuthority, clock: ManualClock
) -> None:
    grant = grant_at(clock)
    first = tokens.mint_grant(grant)
    clock.advance(timedelta(minutes=5))
    assert tokens.mint_grant(grant) == first


def test_a_grant_claim_restricts_whatever_else_the_token_says(
    tokens: TokenAuthority, clock: ManualClock
) -> None:
    token = signed(clock, sub="alice", sid="s", grant="g")
    assert tokens.credential_of(token) == Credential(PrincipalKind.GRANT, "g")
    assert tokens.credential_of(signed(clock, sub="alice", sid="s")).kind is PrincipalKind.SESSION
    assert tokens.credential_of(signed(clock, sub="alice")) == Credential(
        PrincipalKind.USER, "alice"
    )


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"grant": 7}, {"grant": ""}])
def test_a_token_naming_nobody_is_refused(
    tokens: TokenAuthority, clock: ManualClock, claims: dict[str, Any]
) -> None:
    refused(tokens, signed(clock, **claims))


@pytest.fixture(scope="module")
def public_pem() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_with_an_identity_provider_filegate_still_accepts_its_own_session_and_grant_tokens(
    clock: ManualClock, public_pem: str
) -> None:
    tokens = TokenAuthority(SECRET, clock, "RS256", public_pem)

    session_token = tokens.mint_session(session_at(clock))
    grant_token = tokens.mint_grant(grant_at(clock))

    assert tokens.credential_of(session_token).kind is PrincipalKind.SESSION
    assert tokens.credential_of(grant_token).kind is PrincipalKind.GRANT


def test_with_an_identity_provider_a_secret_signed_user_token_is_refused(
    clock: ManualClock, public_pem: str
) -> None:
    tokens = TokenAuthority(SECRET, clock, "RS256", public_pem)

    refused(tokens, signed(clock, sub="alice"))
    refused(tokens, signed(clock, sub="alice", iss="filegate"))
    refused(tokens, signed(clock, sid="s-1"))  # not issued by filegate (no iss)
