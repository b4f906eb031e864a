"""From a verified credential to a principal, confirmed against the database.

A token's signature and ``exp`` say little about a session or a grant: a session ends at
logout, a grant can be revoked. So every request with one reads its row (nothing is cached
in this process, which another API process could not see).
"""

from __future__ import annotations

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Owner, OwnerKind
from filegate.domain.ports import Clock, GrantRepository, SessionRepository
from filegate.domain.principals import Credential, Principal, PrincipalKind


class Authenticator:
    """Turns credentials into principals; UNAUTHENTICATED when the row says no."""

    def __init__(self, sessions: SessionRepository, grants: GrantRepository, clock: Clock) -> None:
        self._sessions = sessions
        self._grants = grants
        self._clock = clock

    async def principal_of(self, credential: Credential) -> Principal:
        """The principal of ``credential``.

        A user is taken at its word (its identity provider vouches for it). A session must
        be live. A grant must be neither revoked nor expired, and the session that owns it,
        if a session does, must be live.
        """
        if credential.kind is PrincipalKind.USER:
            return Principal.of_owner(Owner(OwnerKind.USER, credential.id))
        if credential.kind is PrincipalKind.SESSION:
            await self._live_session(credential.id)
            return Principal.of_owner(Owner(OwnerKind.SESSION, credential.id))
        return await self._grant_principal(credential.id)

    async def _grant_principal(self, grant_id: str) -> Principal:
        grant = await self._grants.get(grant_id)
        if grant is None or not grant.is_usable(self._clock.now()):
            raise _refused("The upload grant is revoked or expired.")
        owner = Owner.parse(grant.owner)
        if owner.kind is OwnerKind.SESSION:
            await self._live_session(owner.id)
        return Principal.of_grant(owner, grant.id)

    async def _live_session(self, session_id: str) -> None:
        session = await self._sessions.get(session_id)
        if session is None or not session.is_live(self._clock.now()):
            raise _refused("The session has ended or expired.")


def _refused(detail: str) -> FilegateError:
    return FilegateError(ErrorCode.UNAUTHENTICATED, detail)
