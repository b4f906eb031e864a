"""API v1: guest sessions (open, log out, claim)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.principals import PrincipalKind
from filegate.http.context import ApiContext
from filegate.http.deps import ContextDep, SessionDep, UserDep
from filegate.http.openapi import may_fail_with
from filegate.http.session_schemas import ClaimOut, SessionCreated, SessionOut

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

SessionToken = Annotated[
    str,
    Header(
        alias="X-Session-Token",
        max_length=4096,
        description="The bearer token of the session being claimed (proof of holding it).",
    ),
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionCreated)
@may_fail_with(ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE)
async def open_session(request: Request, context: ContextDep) -> SessionCreated:
    """Open an anonymous session (no token needed); rate-limited per client address."""
    address = request.client.host if request.client else None
    session = await context.guests.sessions.open(address)
    return SessionCreated(
        session=SessionOut.of(session), token=context.tokens.mint_session(session)
    )


@router.delete("/current", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(principal: SessionDep, context: ContextDep) -> Response:
    """End the caller's session: its token stops working and its files are deleted
    (through the queue, shortly after)."""
    await context.guests.sessions.logout(principal.owner.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{session_id}/claim", response_model=ClaimOut)
@may_fail_with(ErrorCode.SESSION_NOT_FOUND)
async def claim_session(
    session_id: str, principal: UserDep, session_token: SessionToken, context: ContextDep
) -> ClaimOut:
    """Move the session's files to the calling user; the session ends.

    The caller proves it holds the session with its token in ``X-Session-Token``.
    """
    await _check_holds(context, session_token, session_id)
    claim = await context.guests.sessions.claim(session_id, principal.owner)
    return ClaimOut.of(claim, principal.owner.id)


async def _check_holds(context: ApiContext, token: str, session_id: str) -> None:
    """SESSION_NOT_FOUND unless ``token`` is a valid token of this very session."""
    try:
        credential = await context.tokens.authenticate(token)
    except FilegateError:
        credential = None
    if credential is None or (credential.kind, credential.id) != (
        PrincipalKind.SESSION,
        session_id,
    ):
        raise FilegateError(ErrorCode.SESSION_NOT_FOUND, "No such session to claim.")
