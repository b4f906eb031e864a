"""Request and response bodies of guest sessions and upload grants (API v1)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictInt

from filegate.domain.grants import UploadGrant
from filegate.domain.sessions import Claim, GuestSession


class SessionOut(BaseModel):
    id: str
    expires_at: datetime

    @classmethod
    def of(cls, session: GuestSession) -> SessionOut:
        return cls(id=session.id, expires_at=session.expires_at)


class SessionCreated(BaseModel):
    """A new guest session and its bearer token (valid until the session expires)."""

    session: SessionOut
    token: str


class ClaimOut(BaseModel):
    """What a claim moved to the user: the session's files, by id."""

    session_id: str
    claimed_by: str
    file_ids: list[str]

    @classmethod
    def of(cls, claim: Claim, user_id: str) -> ClaimOut:
        return cls(session_id=claim.session.id, claimed_by=user_id, file_ids=list(claim.file_ids))


class GrantIn(BaseModel):
    """How many files the grant may register, and for how long (defaults when left out)."""

    model_config = ConfigDict(extra="forbid")

    uses: StrictInt | None = None
    ttl_seconds: StrictInt | None = None


class GrantOut(BaseModel):
    id: str
    expires_at: datetime
    uses_left: int
    uses_total: int
    revoked: bool

    @classmethod
    def of(cls, grant: UploadGrant) -> GrantOut:
        return cls(
            id=grant.id,
            expires_at=grant.expires_at,
            uses_left=grant.uses_left,
            uses_total=grant.uses_total,
            revoked=grant.revoked_at is not None,
        )


class QrLinks(BaseModel):
    """Where the QR code of the grant's URL is, as PNG and as SVG (owner's token needed)."""

    png: str
    svg: str


class GrantIssued(BaseModel):
    """A new grant, its write-only token, the URL a phone opens, and its QR codes."""

    grant: GrantOut
    token: str
    url: str
    qr: QrLinks


class GrantEnvelope(BaseModel):
    grant: GrantOut
