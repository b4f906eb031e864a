"""Short links of upload grants: ``GET /g/<code>`` opens the web page with the grant's token.

A phone's QR code carries this short address instead of the ~300-character token, so the
code stays small and easy to scan. The link lives exactly as long as its grant: it stops
answering once the grant expires, is revoked or has no use left.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import RedirectResponse

from filegate.domain.errors import ErrorCode
from filegate.http.deps import ContextDep
from filegate.http.openapi import may_fail_with
from filegate.services.grants import CODE_ALPHABET, CODE_LENGTH

router = APIRouter(tags=["upload grants"])

_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""The redirect carries the grant's token: never cached, never sent on as a referrer."""

LinkCode = Annotated[
    str,
    Path(
        pattern=f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$",
        description=f"{CODE_LENGTH} characters of {CODE_ALPHABET!r}, as the grant's link has it.",
    ),
]
"""A code of another shape can name no grant: VALIDATION_ERROR before any lookup."""


@router.get(
    "/g/{code}",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses={303: {"description": "To the web page, with the grant's token."}},
)
@may_fail_with(ErrorCode.GRANT_NOT_FOUND, ErrorCode.GRANT_ENDED)
async def open_short_link(code: LinkCode, context: ContextDep) -> RedirectResponse:
    """303 to the web page carrying the grant's token (the page takes it from there).

    GRANT_NOT_FOUND (404) for an unknown code, GRANT_ENDED (410) once the grant has expired,
    was revoked or is used up.
    """
    grant = await context.guests.grants.resolve(code)
    token = context.tokens.mint_grant(grant)
    return RedirectResponse(
        f"/?grant={token}", status_code=status.HTTP_303_SEE_OTHER, headers=_PRIVATE
    )
