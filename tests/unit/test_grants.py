"""GrantService, Intake (registration through grants) and the Authenticator, on fakes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Actor, Owner, OwnerKind, StateChange
from filegate.domain.principals import (
    Credential,
    Permission,
    Principal,
    PrincipalKind,
)
from filegate.domain.states import FileState
from filegate.services.registration import Registration, RegistrationRequest
from tests.support.guests import ALICE, BOB, Guests, photo

MINUTE = timedelta(minutes=1)


@pytest.fixture
def g() -> Guests:
    return Guests()


async def grant_principal(g: Guests, owner: Owner = ALICE, uses: int = 3) -> Principal:
    grant = await g.grants.issue(Principal.of_owner(owner), uses, MINUTE)
    return await g.authenticator.principal_of(Credential(PrincipalKind.GRANT, grant.id))


def code_of(outcome: Registration | FilegateError) -> str:
    return outcome.code.value if isinstance(outcome, FilegateError) else "registered"


# --- principals --------------------------------------------------------------------------


def test_users_and_sessions_may_do_everything_grants_only_register() -> None:
    user = Principal.of_owner(ALICE)
    session = Principal.of_owner(Owner(OwnerKind.SESSION, "s"))
    grant = Principal.of_grant(ALICE, "g")

    assert (user.kind, session.kind, grant.kind) == (
        PrincipalKind.USER,
        PrincipalKind.SESSION,
        PrincipalKind.GRANT,
    )
    assert user.permissions == session.permissions == frozenset(Permission)
    assert grant.permissions == {Permission.REGISTER}
    assert not grant.can(Permission.READ) and not grant.can(Permission.WRITE)


# --- issue, get, revoke --------------------------------------------------------------------


async def test_issue_uses_the_defaults_and_whole_seconds(g: Guests) -> None:
    g.clock.advance(timedelta(microseconds=400))

    grant = await g.grants.issue(Principal.of_owner(ALICE))

    assert (grant.owner, grant.uses_total, grant.uses_left) == (ALICE.key, 20, 20)
    assert grant.created_at.microsecond == 0
    assert grant.expires_at - grant.created_at == timedelta(minutes=15)
    assert await g.grant_rows.get(grant.id) == grant


@pytest.mark.parametrize(
    ("uses", "ttl", "limit"),
    [(0, 60, 500), (501, 60, 500), (1, 0, 86400), (1, 86401, 86400)],
)
async def test_issue_refuses_uses_and_lifetimes_outside_the_limits(
    g: Guests, uses: int, ttl: int, limit: int
) -> None:
    with pytest.raises(FilegateError) as refused:
        await g.grants.issue(Principal.of_owner(ALICE), uses, timedelta(seconds=ttl))
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert refused.value.extra == {"limit": limit}


async def test_only_the_owner_sees_and_revokes_a_grant(g: Guests) -> None:
    grant = await g.grants.issue(Principal.of_owner(ALICE))

    for attempt in (g.grants.get, g.grants.revoke):
        with pytest.raises(FilegateError) as refused:
            await attempt(Principal.of_owner(BOB), grant.id)
        assert refused.value.code is ErrorCode.GRANT_NOT_FOUND

    await g.grants.revoke(Principal.of_owner(ALICE), grant.id)
    await g.grants.revoke(Principal.of_owner(ALICE), grant.id)
    assert (await g.grants.get(Principal.of_owner(ALICE), grant.id)).revoked_at is not None


# --- authentication --------------------------------------------------------------------------


async def test_a_user_credential_is_taken_at_its_word(g: Guests) -> None:
    principal = await g.authenticator.principal_of(Credential(PrincipalKind.USER, "alice"))
    assert principal == Principal.of_owner(ALICE)


async def test_a_session_credential_needs_a_live_session(g: Guests) -> None:
    session = await g.sessions.open("a")
    credential = Credential(PrincipalKind.SESSION, session.id)

    assert (await g.authenticator.principal_of(credential)).owner == session.owner

    await g.sessions.logout(session.id)
    with pytest.raises(FilegateError) as refused:
        await g.authenticator.principal_of(credential)
    assert refused.value.code is ErrorCode.UNAUTHENTICATED
    with pytest.raises(FilegateError):
        await g.authenticator.principal_of(Credential(PrincipalKind.SESSION, "unknown"))


async def test_a_grant_credential_acts_for_its_owner_until_revoked_or_expired(g: Guests) -> None:
    principal = await grant_principal(g)
    assert principal == Principal.of_grant(ALICE, principal.grant_id or "")
    credential = Credential(PrincipalKind.GRANT, principal.grant_id or "")

    g.clock.advance(MINUTE)
    with pytest.raises(FilegateError) as expired:
        await g.authenticator.principal_of(credential)
    assert expired.value.code is ErrorCode.UNAUTHENTICATED

    revoked = await grant_principal(g)
    await g.grants.revoke(Principal.of_owner(ALICE), revoked.grant_id or "")
    with pytest.raises(FilegateError):
        await g.authenticator.principal_of(Credential(PrincipalKind.GRANT, revoked.grant_id or ""))


async def test_a_sessions_grant_stops_when_the_session_ends(g: Guests) -> None:
    session = await g.sessions.open("a")
    principal = await grant_principal(g, session.owner)
    assert principal.owner == session.owner

    await g.sessions.logout(session.id)

    with pytest.raises(FilegateError) as refused:
        await g.authenticator.principal_of(
            Credential(PrincipalKind.GRANT, principal.grant_id or "")
        )
    assert refused.value.code is ErrorCode.UNAUTHENTICATED


# --- registration through a grant ------------------------------------------------------------


async def test_users_register_without_any_use_counting(g: Guests) -> None:
    registration = await g.intake.register(Principal.of_owner(ALICE), photo(), None)
    assert registration.file.owner == ALICE.key


async def test_each_registered_file_takes_one_use_and_belongs_to_the_owner(g: Guests) -> None:
    principal = await grant_principal(g, uses=2)

    first = await g.intake.register(principal, photo(), None)
    await g.intake.register(principal, photo(), None)
    with pytest.raises(FilegateError) as refused:
        await g.intake.register(principal, photo(), None)

    assert first.file.owner == ALICE.key
    assert (refused.value.code, refused.value.extra) == (ErrorCode.FORBIDDEN, {"uses_left": 0})


async def test_a_refused_or_replayed_registration_gives_its_use_back(g: Guests) -> None:
    principal = await grant_principal(g, uses=2)

    with pytest.raises(FilegateError):
        await g.intake.register(principal, photo(size=0), None)
    first = await g.intake.register(principal, photo(), "key-1")
    replay = await g.intake.register(principal, photo(), "key-1")

    assert replay.file.id == first.file.id
    grant = await g.grant_rows.get(principal.grant_id or "")
    assert grant is not None and grant.uses_left == 1


async def test_a_batch_beyond_the_uses_left_is_refused_item_by_item(g: Guests) -> None:
    principal = await grant_principal(g, uses=3)
    items = [photo(), photo(size=0), photo(), photo(), photo()]

    outcomes = await g.intake.register_many(principal, items)

    assert [code_of(o) for o in outcomes] == [
        "registered",
        "EMPTY_FILE",
        "registered",
        "FORBIDDEN",
        "FORBIDDEN",
    ]
    grant = await g.grant_rows.get(principal.grant_id or "")
    assert grant is not None and grant.uses_left == 1


async def test_a_batch_through_a_used_up_grant_is_refused_whole(g: Guests) -> None:
    principal = await grant_principal(g, uses=1)
    await g.intake.register(principal, photo(), None)

    with pytest.raises(FilegateError) as refused:
        await g.intake.register_many(principal, [photo(), photo()])
    assert refused.value.code is ErrorCode.FORBIDDEN


async def test_concurrent_registrations_never_exceed_the_uses(g: Guests) -> None:
    principal = await grant_principal(g, uses=5)

    outcomes = await asyncio.gather(
        *(g.intake.register(principal, photo(), None) for _ in range(12)), return_exceptions=True
    )

    assert sum(isinstance(o, Registration) for o in outcomes) == 5
    assert (await g.files.usage(ALICE.key)).files == 5


# --- complete through a grant ----------------------------------------------------------------


async def test_a_grant_completes_only_the_files_it_registered(g: Guests) -> None:
    principal = await grant_principal(g)
    mine = await g.intake.register(principal, photo(), None)
    g.store.put_bytes(mine.file.object_key, b"x" * 10)
    owners = await g.stored_file(ALICE)

    completed = await g.intake.complete(principal, mine.file.id)

    assert completed.state is FileState.UPLOADED
    with pytest.raises(FilegateError) as refused:
        await g.intake.complete(principal, owners.id)
    assert refused.value.code is ErrorCode.FILE_NOT_FOUND
    owner_completes = await g.intake.complete(Principal.of_owner(ALICE), owners.id)
    assert owner_completes.state is FileState.UPLOADED


async def _ready_file_of_alice(g: Guests, key: str | None = None) -> Registration:
    sha = "ab" * 32
    request = RegistrationRequest(
        filename="private.jpg", content_type="image/jpeg", size=10, sha256=sha
    )
    registration = await g.intake.register(Principal.of_owner(ALICE), request, key)
    change = StateChange(FileState.READY, Actor.WORKER, sha256=sha)
    assert await g.files.transition(registration.file.id, FileState.REGISTERED, change)
    return registration


async def test_a_grant_is_never_deduplicated_into_the_owners_files(g: Guests) -> None:
    mine = await _ready_file_of_alice(g)
    principal = await grant_principal(g)
    same_bytes = RegistrationRequest(
        filename="phone.jpg", content_type="image/jpeg", size=10, sha256="ab" * 32
    )

    through_grant = await g.intake.register(principal, same_bytes, None)
    as_owner = await g.intake.register(Principal.of_owner(ALICE), same_bytes, None)

    assert through_grant.file.id != mine.file.id
    assert not through_grant.deduplicated and through_grant.upload is not None
    assert as_owner.deduplicated and as_owner.file.id == mine.file.id


async def test_a_grant_cannot_replay_the_owners_idempotency_keys(g: Guests) -> None:
    mine = await _ready_file_of_alice(g, key="order-7")
    principal = await grant_principal(g)

    through_grant = await g.intake.register(principal, photo(), "order-7")

    assert through_grant.file.id != mine.file.id
    with pytest.raises(FilegateError) as refused:
        await g.intake.complete(principal, mine.file.id)
    assert refused.value.code is ErrorCode.FILE_NOT_FOUND
