"""FastAPI dependencies: the services of this app, and who is calling with what rights.

A route states what it needs, declaratively, through one of the aliases below:

========================  =====================================================
``Reader``                a principal that may read (users, sessions)
``Writer``                a principal that may change files and credentials
``Registrant``            a principal that may register files (grants too)
``UserDep``               a user (not a session, not a grant)
``SessionDep``            a guest session acting as itself
``OwnerDep``              the owner of a principal that may read and write
========================  =====================================================

Anything else answers 401 UNAUTHENTICATED (no valid token) or 403 FORBIDDEN (a valid
token without the right).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Owner
from filegate.domain.principals import Permission, Principal, PrincipalKind
from filegate.http.context import ApiContext
from filegate.http.openapi import declared_by, may_fail_with

_bearer = HTTPBearer(
    auto_error=False, description="A JWT naming a user (sub), a session (sid) or a grant."
)


async def api_context(request: Request) -> ApiContext:
    """The services this app was built with.

    A coroutine although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hand-off on every request for an attribute read.
    """
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(api_context)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@may_fail_with(ErrorCode.UNAUTHENTICATED, ErrorCode.UNAVAILABLE)
async def current_principal(request: Request, credentials: Credentials) -> Principal:
    """The caller named by the bearer token, confirmed against the database.

    UNAUTHENTICATED without a valid token, and for an ended session or a revoked or
    expired grant. The checks below call this function rather than depend on it: each
    level of dependencies costs FastAPI tens of microseconds per request to solve.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise FilegateError(ErrorCode.UNAUTHENTICATED, "A bearer token is required.")
    context = await api_context(request)
    credential = await context.tokens.authenticate(credentials.credentials)
    return await context.guests.authenticator.principal_of(credential)


def requires(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller when it holds every one of ``permissions``."""

    @may_fail_with(*declared_by(current_principal), ErrorCode.FORBIDDEN)
    async def permitted(request: Request, credentials: Credentials) -> Principal:
        principal = await current_principal(request, credentials)
        missing = [p.value for p in permissions if not principal.can(p)]
        if missing:
            raise FilegateError(
                ErrorCode.FORBIDDEN,
                f"A {principal.kind.value} token may not do this.",
                {"required": missing},
            )
        return principal

    return permitted


def requires_kind(kind: PrincipalKind) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller when it is a ``kind`` principal."""

    @may_fail_with(*declared_by(current_principal), ErrorCode.FORBIDDEN)
    async def of_kind(request: Request, credentials: Credentials) -> Principal:
        principal = await current_principal(request, credentials)
        if principal.kind is not kind:
            raise FilegateError(
                ErrorCode.FORBIDDEN, f"This needs a {kind.value} token, not a {principal.kind}."
            )
        return principal

    return of_kind


Reader = Annotated[Principal, Depends(requires(Permission.READ))]
Writer = Annotated[Principal, Depends(requires(Permission.WRITE))]
Registrant = Annotated[Principal, Depends(requires(Permission.REGISTER))]
UserDep = Annotated[Principal, Depends(requires_kind(PrincipalKind.USER))]
SessionDep = Annotated[Principal, Depends(requires_kind(PrincipalKind.SESSION))]

_FullOwner = Annotated[Principal, Depends(requires(Permission.READ, Permission.WRITE))]


async def current_owner(principal: _FullOwner) -> Owner:
    """The owner of a caller that may read and write its files (never a grant)."""
    return principal.owner


OwnerDep = Annotated[Owner, Depends(current_owner)]
