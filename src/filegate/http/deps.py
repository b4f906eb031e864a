"""FastAPI dependencies: the services of this app and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import Owner
from filegate.http.context import ApiContext

_bearer = HTTPBearer(auto_error=False, description="A JWT naming a user (sub) or session (sid).")


def api_context(request: Request) -> ApiContext:
    """The services this app was built with."""
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(api_context)]


def current_owner(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Owner:
    """The owner named by the bearer token (UNAUTHENTICATED without a valid one)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise FilegateError(ErrorCode.UNAUTHENTICATED, "A bearer token is required.")
    return context.tokens.owner_of(credentials.credentials)


OwnerDep = Annotated[Owner, Depends(current_owner)]
