"""Registering and completing files on behalf of a principal: grants pay one use per file.

Users and sessions go straight to the registrar. A grant takes its uses from the database
before registering (atomically, so concurrent requests never exceed the grant's total),
gives back those of refused or replayed registrations, and records which files it
registered: those are the only files it may later ``complete``.

A grant never sees the owner's other files: its registrations are not deduplicated
against them, and its idempotency keys live in a namespace of the grant's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from filegate.domain.errors import BackendUnavailable, ErrorCode, FilegateError, not_found
from filegate.domain.models import FileRecord
from filegate.domain.ports import Clock, GrantRepository
from filegate.domain.principals import Principal
from filegate.services.registration import Registrar, Registration, RegistrationRequest
from filegate.services.uploads import UploadRecorder

Outcome = Registration | FilegateError


class Intake:
    """The registration and completion entry points of API v1."""

    def __init__(
        self,
        registrar: Registrar,
        uploads: UploadRecorder,
        grants: GrantRepository,
        clock: Clock,
    ) -> None:
        self._registrar = registrar
        self._uploads = uploads
        self._grants = grants
        self._clock = clock

    async def register(
        self, principal: Principal, request: RegistrationRequest, idempotency_key: str | None
    ) -> Registration:
        """Register one file for the principal's owner; FORBIDDEN when a grant is used up."""
        owner = principal.owner.key
        if principal.grant_id is None:
            return await self._registrar.register(owner, request, idempotency_key)
        [outcome] = await self._granted(principal.grant_id, owner, [request], idempotency_key)
        if isinstance(outcome, FilegateError):
            raise outcome
        return outcome

    async def register_many(
        self, principal: Principal, requests: Sequence[RegistrationRequest]
    ) -> list[Outcome]:
        """Register each file; through a grant, items beyond its uses get FORBIDDEN.

        A grant with no use left at all refuses the whole request (FORBIDDEN).
        """
        owner = principal.owner.key
        if principal.grant_id is None:
            return await self._registrar.register_many(owner, requests)
        return await self._granted(principal.grant_id, owner, requests, None)

    async def complete(self, principal: Principal, file_id: str) -> FileRecord:
        """Signal an upload; a grant only for files it registered (FILE_NOT_FOUND else)."""
        await self.authorise_upload(principal, file_id)
        return await self._uploads.complete(principal.owner.key, file_id)

    async def authorise_upload(self, principal: Principal, file_id: str) -> None:
        """Raise FILE_NOT_FOUND when a grant uploads to (or reads) a file it did not register.

        Users and sessions pass: their own owner scoping applies further on.
        """
        grant_id = principal.grant_id
        if grant_id is not None and not await self._grants.registered(grant_id, file_id):
            raise not_found()

    async def _granted(
        self,
        grant_id: str,
        owner: str,
        requests: Sequence[RegistrationRequest],
        idempotency_key: str | None,
    ) -> list[Outcome]:
        taken = await self._grants.take_uses(grant_id, len(requests), self._clock.now())
        if taken == 0:
            raise _used_up()
        paid = requests[:taken]
        if idempotency_key is not None:
            key = f"grant:{grant_id}:{idempotency_key}"
            outcomes: list[Outcome] = [await self._one(owner, paid[0], key)]
        else:
            outcomes = await self._registrar.register_many(owner, paid, dedupe=False)
        unspent = 0
        for outcome in outcomes:
            fresh = isinstance(outcome, Registration) and await self._grants.link_file(
                grant_id, outcome.file.id
            )
            unspent += not fresh
        await self._give_back(grant_id, unspent)
        return outcomes + [_used_up() for _ in requests[taken:]]

    async def _one(self, owner: str, request: RegistrationRequest, key: str) -> Outcome:
        try:
            return await self._registrar.register(owner, request, key, dedupe=False)
        except FilegateError as error:
            return error

    async def _give_back(self, grant_id: str, count: int) -> None:
        # Best effort: a use not given back only makes the grant stricter, never looser.
        with contextlib.suppress(BackendUnavailable):
            await self._grants.give_back(grant_id, count)


def _used_up() -> FilegateError:
    return FilegateError(
        ErrorCode.FORBIDDEN, "This upload grant has no uses left.", {"uses_left": 0}
    )
