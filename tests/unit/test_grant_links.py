"""Short links of upload grants: codes, and resolving them while the grant takes files."""

from __future__ import annotations

from datetime import timedelta

import pytest

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.principals import Principal
from filegate.services.grants import CODE_ALPHABET, CODE_LENGTH, new_grant_code
from tests.support.guests import ALICE, Guests

MINUTE = timedelta(minutes=1)
OWNER = Principal.of_owner(ALICE)


@pytest.fixture
def g() -> Guests:
    return Guests()


async def failure_of(g: Guests, code: str) -> ErrorCode:
    with pytest.raises(FilegateError) as raised:
        await g.grants.resolve(code)
    return raised.value.code


def test_a_code_is_short_and_drawn_from_the_unambiguous_alphabet() -> None:
    codes = {new_grant_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert not set("01ilo") & set(CODE_ALPHABET)


async def test_every_grant_gets_its_own_code_that_resolves_to_it(g: Guests) -> None:
    first = await g.grants.issue(OWNER, 2, MINUTE)
    second = await g.grants.issue(OWNER, 2, MINUTE)

    assert first.code and second.code and first.code != second.code
    assert await g.grants.resolve(first.code) == first


async def test_an_unknown_or_malformed_code_is_not_found(g: Guests) -> None:
    await g.grants.issue(OWNER, 2, MINUTE)

    assert await failure_of(g, "a" * CODE_LENGTH) is ErrorCode.GRANT_NOT_FOUND
    assert await failure_of(g, "../etc/passwd") is ErrorCode.GRANT_NOT_FOUND


async def test_an_expired_revoked_or_used_up_grants_code_has_ended(g: Guests) -> None:
    expiring = await g.grants.issue(OWNER, 2, MINUTE)
    revoked = await g.grants.issue(OWNER, 2, timedelta(hours=1))
    used = await g.grants.issue(OWNER, 1, timedelta(hours=1))
    await g.grants.revoke(OWNER, revoked.id)
    await g.grant_rows.take_uses(used.id, 1, g.clock.now())
    g.clock.advance(MINUTE)

    for grant in (expiring, revoked, used):
        assert grant.code is not None
        assert await failure_of(g, grant.code) is ErrorCode.GRANT_ENDED
