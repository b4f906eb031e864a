"""TokenAuthority: bearer JWTs into owners; everything else is UNAUTHENTICATED."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from filegate.adapters.tokens import SESSION_CLAIM, TokenAuthority
from filegate.domain.clock import ManualClock
from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Owner, OwnerKind

SECRET = "a-test-secret-of-32-characters!!"
HOUR = timedelta(hours=1)
ALICE = Owner(OwnerKind.USER, "alice")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def tokens(clock: ManualClock) -> TokenAuthority:
    return TokenAuthority(SECRET, clock)


def claims_at(clock: ManualClock, **extra: Any) -> dict[str, Any]:
    """Claims valid for an hour from the clock's now, plus ``extra`` (``None`` removes)."""
    base = {"sub": "alice", "exp": int((clock.now() + HOUR).timestamp())}
    merged = {**base, **extra}
    return {name: value for name, value in merged.items() if value is not None}


def refused(tokens: TokenAuthority, token: str) -> FilegateError:
    with pytest.raises(FilegateError) as raised:
        tokens.owner_of(token)
    assert raised.value.code is ErrorCode.UNAUTHENTICATED
    return raised.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def test_a_user_token_round_trips(tokens: TokenAuthority) -> None:
    assert tokens.owner_of(tokens.mint(ALICE, HOUR)) == ALICE


def test_a_session_token_round_trips(tokens: TokenAuthority) -> None:
    session = Owner(OwnerKind.SESSION, "s-123")
    token = tokens.mint(session, HOUR)

    assert tokens.owner_of(token) == session
    assert jwt.decode(token, options={"verify_signature": False})[SESSION_CLAIM] == "s-123"


def test_a_session_claim_wins_over_a_subject(tokens: TokenAuthority, clock: ManualClock) -> None:
    token = jwt.encode(claims_at(clock, sid="s-9"), SECRET, algorithm="HS256")
    assert tokens.owner_of(token) == Owner(OwnerKind.SESSION, "s-9")


def test_a_token_is_valid_until_it_expires(tokens: TokenAuthority, clock: ManualClock) -> None:
    token = tokens.mint(ALICE, HOUR)

    clock.advance(HOUR - timedelta(seconds=1))
    assert tokens.owner_of(token) == ALICE
    clock.advance(timedelta(seconds=1))
    refused(tokens, token)


def test_a_token_not_yet_valid_is_refused(tokens: TokenAuthority, clock: ManualClock) -> None:
    later = int((clock.now() + timedelta(minutes=5)).timestamp())
    token = jwt.encode(claims_at(clock, nbf=later), SECRET, algorithm="HS256")

    refused(tokens, token)
    clock.advance(timedelta(minutes=5))
    assert tokens.owner_of(token) == ALICE


def test_a_token_signed_with_another_secret_is_refused(tokens: TokenAuthority) -> None:
    other = TokenAuthority("another-secret-of-32-characters!", ManualClock())
    refused(tokens, other.mint(ALICE, HOUR))


def test_alg_none_is_refused(tokens: TokenAuthority, clock: ManualClock) -> None:
    refused(tokens, unsigned({"alg": "none", "typ": "JWT"}, claims_at(clock)))


def test_a_token_without_exp_is_refused(tokens: TokenAuthority, clock: ManualClock) -> None:
    refused(tokens, jwt.encode(claims_at(clock, exp=None), SECRET, algorithm="HS256"))


@pytest.mark.parametrize("exp", ["tomorrow", [1], {"at": 1}, True])
def test_a_malformed_exp_is_refused(tokens: TokenAuthority, clock: ManualClock, exp: Any) -> None:
    refused(tokens, jwt.encode(claims_at(clock, exp=exp), SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "names", [{"sub": None}, {"sub": ""}, {"sub": None, "sid": ""}, {"sub": None, "sid": 7}]
)
def test_a_token_naming_no_owner_is_refused(
    tokens: TokenAuthority, clock: ManualClock, names: dict[str, Any]
) -> None:
    refused(tokens, jwt.encode(claims_at(clock, **names), SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "garbage", ["", "garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "é.é.é"]
)
def test_garbage_is_refused(tokens: TokenAuthority, garbage: str) -> None:
    refused(tokens, garbage)


# -- RS256 ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh RSA key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def test_rs256_verifies_with_the_public_key(key_pair: tuple[str, str], clock: ManualClock) -> None:
    private_pem, public_pem = key_pair
    tokens = TokenAuthority(SECRET, clock, "RS256", public_pem)

    token = jwt.encode(claims_at(clock), private_pem, algorithm="RS256")

    assert tokens.owner_of(token) == ALICE


def test_rs256_reads_the_public_key_from_a_file(
    key_pair: tuple[str, str], clock: ManualClock, tmp_path: Path
) -> None:
    private_pem, public_pem = key_pair
    key_file = tmp_path / "public.pem"
    key_file.write_text(public_pem)
    tokens = TokenAuthority(SECRET, clock, "RS256", str(key_file))

    assert tokens.owner_of(jwt.encode(claims_at(clock), private_pem, algorithm="RS256")) == ALICE


def test_rs256_refuses_hs256_tokens_even_keyed_with_the_public_key(
    key_pair: tuple[str, str], clock: ManualClock
) -> None:
    _, public_pem = key_pair
    tokens = TokenAuthority(SECRET, clock, "RS256", public_pem)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = claims_at(clock)
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    forged = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()

    refused(tokens, unsigned(header, claims, forged))
    refused(tokens, TokenAuthority(SECRET, clock).mint(ALICE, HOUR))


def test_rs256_refuses_minting(key_pair: tuple[str, str], clock: ManualClock) -> None:
    tokens = TokenAuthority(SECRET, clock, "RS256", key_pair[1])
    with pytest.raises(ValueError, match="HS256"):
        tokens.mint(ALICE, HOUR)


def test_rs256_needs_a_public_key(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="public key"):
        TokenAuthority(SECRET, clock, "RS256")


def test_a_token_checked_before_is_not_verified_again(
    tokens: TokenAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens.mint(ALICE, HOUR)
    decoded = 0
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        nonlocal decoded
        decoded += 1
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    owners = [tokens.owner_of(token) for _ in range(3)]

    assert owners == [ALICE] * 3
    assert decoded == 1


def test_a_remembered_token_still_expires(tokens: TokenAuthority, clock: ManualClock) -> None:
    token = tokens.mint(ALICE, HOUR)
    assert tokens.owner_of(token) == ALICE

    clock.advance(HOUR + timedelta(seconds=1))

    with pytest.raises(FilegateError) as refused:
        tokens.owner_of(token)
    assert refused.value.code is ErrorCode.UNAUTHENTICATED


def test_a_refused_token_is_refused_every_time(tokens: TokenAuthority) -> None:
    forged = jwt.encode({"sub": "mallory", "exp": 2**31}, "another-secret-of-32-characters!")
    for _ in range(2):
        with pytest.raises(FilegateError) as refused:
            tokens.owner_of(forged)
        assert refused.value.code is ErrorCode.UNAUTHENTICATED
