"""API v1: upload grants (a second device adds files with a write-only token)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status

from filegate.domain.errors import ErrorCode
from filegate.domain.grants import UploadGrant
from filegate.http.context import ApiContext
from filegate.http.deps import ContextDep, Reader, Writer
from filegate.http.openapi import may_fail_with
from filegate.http.session_schemas import GrantEnvelope, GrantIn, GrantIssued, GrantOut, QrLinks

router = APIRouter(prefix="/v1/upload-grants", tags=["upload grants"])

_NO_STORE = {"Cache-Control": "no-store"}  # a QR code carries the grant's token


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GrantIssued)
async def issue_grant(body: GrantIn, principal: Writer, context: ContextDep) -> GrantIssued:
    """A write-only token for the caller's owner, usable ``uses`` times or until expiry."""
    ttl = None if body.ttl_seconds is None else _duration(body.ttl_seconds)
    grant = await context.guests.grants.issue(principal, body.uses, ttl)
    base = f"/v1/upload-grants/{grant.id}"
    return GrantIssued(
        grant=GrantOut.of(grant),
        token=context.tokens.mint_grant(grant),
        url=_link(context, grant),
        qr=QrLinks(png=f"{base}/qr.png", svg=f"{base}/qr.svg"),
    )


@router.get("/{grant_id}", response_model=GrantEnvelope)
@may_fail_with(ErrorCode.GRANT_NOT_FOUND)
async def get_grant(grant_id: str, principal: Reader, context: ContextDep) -> GrantEnvelope:
    """The grant as it is now (uses left, revoked); its owner only."""
    return GrantEnvelope(grant=GrantOut.of(await context.guests.grants.get(principal, grant_id)))


@router.get(
    "/{grant_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The QR code."}},
)
@may_fail_with(ErrorCode.GRANT_NOT_FOUND)
async def grant_qr_png(grant_id: str, principal: Reader, context: ContextDep) -> Response:
    """The QR code of the grant's URL, as PNG; its owner only."""
    grant = await context.guests.grants.get(principal, grant_id)
    return Response(
        context.qr.png(_link(context, grant)), media_type="image/png", headers=_NO_STORE
    )


@router.get(
    "/{grant_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The QR code."}},
)
@may_fail_with(ErrorCode.GRANT_NOT_FOUND)
async def grant_qr_svg(grant_id: str, principal: Reader, context: ContextDep) -> Response:
    """The QR code of the grant's URL, as SVG; its owner only."""
    grant = await context.guests.grants.get(principal, grant_id)
    return Response(
        context.qr.svg(_link(context, grant)), media_type="image/svg+xml", headers=_NO_STORE
    )


@router.delete("/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
@may_fail_with(ErrorCode.GRANT_NOT_FOUND)
async def revoke_grant(grant_id: str, principal: Writer, context: ContextDep) -> Response:
    """Revoke the grant: its token answers 401 from now on; its owner only."""
    await context.guests.grants.revoke(principal, grant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _duration(seconds: int) -> timedelta:
    """``seconds`` as a duration, clamped into what ``timedelta`` holds: a value past either
    end is out of any policy's range, and the service refuses it as such."""
    longest = timedelta.max.days * 86_400
    return timedelta(seconds=max(0, min(seconds, longest)))


def _link(context: ApiContext, grant: UploadGrant) -> str:
    """The URL a phone opens: the grant's short link (``/g/<code>``), which opens the web
    page with the grant's token; the page with the token itself for a grant with no code
    (issued before short links)."""
    base = context.settings.public_url
    if grant.code is not None:
        return f"{base}/g/{grant.code}"
    return f"{base}/?grant={context.tokens.mint_grant(grant)}"
