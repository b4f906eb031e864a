"""Who is calling, and what they may do: a principal is an owner plus permissions.

Users and guest sessions act as their own owner with every permission. An upload grant
acts for the owner that issued it, and may only register (and then upload, complete and
read back) the files it registered itself, and cancel (delete) those of them not uploaded
yet: never list or download files, nor delete what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from filegate.domain.models import Owner, OwnerKind


class Permission(StrEnum):
    """A capability a route requires."""

    READ = "read"
    """See files: get, list, download, history."""
    WRITE = "write"
    """Change files and credentials: delete, fresh upload URLs, grants."""
    REGISTER = "register"
    """Register files and signal their upload as complete."""


class PrincipalKind(StrEnum):
    """What kind of credential the caller presented."""

    USER = "user"
    SESSION = "session"
    GRANT = "grant"


PERMISSIONS: dict[PrincipalKind, frozenset[Permission]] = {
    PrincipalKind.USER: frozenset(Permission),
    PrincipalKind.SESSION: frozenset(Permission),
    PrincipalKind.GRANT: frozenset({Permission.REGISTER}),
}
"""The one table of what each kind of principal may do."""


@dataclass(frozen=True)
class Credential:
    """What a verified bearer token names, before the database has confirmed it."""

    kind: PrincipalKind
    id: str
    """A user id, a session id or a grant id, according to ``kind``."""


@dataclass(frozen=True)
class Principal:
    """The caller: whose files it acts on, as what, and with which permissions."""

    owner: Owner
    kind: PrincipalKind
    grant_id: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        return PERMISSIONS[self.kind]

    def can(self, permission: Permission) -> bool:
        """Whether this principal holds ``permission``."""
        return permission in self.permissions

    @classmethod
    def of_owner(cls, owner: Owner) -> Principal:
        """A user or session acting as itself."""
        kind = PrincipalKind.SESSION if owner.kind is OwnerKind.SESSION else PrincipalKind.USER
        return cls(owner, kind)

    @classmethod
    def of_grant(cls, owner: Owner, grant_id: str) -> Principal:
        """An upload grant acting for ``owner``."""
        return cls(owner, PrincipalKind.GRANT, grant_id)
