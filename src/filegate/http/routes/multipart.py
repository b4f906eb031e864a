"""API v1: uploading large files in parts (stores with multipart uploads, e.g. S3).

Uploading is what an upload grant is for: a grant may sign, list and complete the parts of
the files it registered itself (any other file answers FILE_NOT_FOUND).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from filegate.domain.errors import ErrorCode
from filegate.http.deps import ContextDep, Registrant
from filegate.http.openapi import may_fail_with
from filegate.http.schemas import (
    CompleteParts,
    FileOut,
    PartNumbers,
    PartUrlOut,
    PartUrls,
    UploadedPartOut,
    UploadedParts,
)
from filegate.services.multipart import MultipartService

router = APIRouter(prefix="/v1/files", tags=["multipart"])


async def _service(context: ContextDep) -> MultipartService:
    """The multipart service; these routes are mounted only where the store has one.

    A coroutine so that FastAPI does not run it in its thread pool (see ``api_context``)."""
    if context.multipart is None:
        raise RuntimeError("multipart routes mounted for a store without multipart uploads")
    return context.multipart


MultipartDep = Annotated[MultipartService, Depends(_service)]


@router.post("/{file_id}/parts", response_model=PartUrls)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.INVALID_STATE)
async def part_urls(
    file_id: str,
    body: PartNumbers,
    principal: Registrant,
    context: ContextDep,
    service: MultipartDep,
) -> PartUrls:
    """Signed upload URLs for these parts; ask again for fresh ones at any time."""
    await context.guests.intake.authorise_upload(principal, file_id)
    urls = await service.part_urls(principal.owner.key, file_id, body.part_numbers)
    return PartUrls(parts=[PartUrlOut.of(url) for url in urls])


@router.get("/{file_id}/parts", response_model=UploadedParts)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.INVALID_STATE)
async def uploaded_parts(
    file_id: str, principal: Registrant, context: ContextDep, service: MultipartDep
) -> UploadedParts:
    """The parts stored so far, to resume an interrupted upload."""
    await context.guests.intake.authorise_upload(principal, file_id)
    parts = await service.uploaded_parts(principal.owner.key, file_id)
    return UploadedParts(parts=[UploadedPartOut.of(part) for part in parts])


@router.post(
    "/{file_id}/parts/complete", status_code=status.HTTP_202_ACCEPTED, response_model=FileOut
)
@may_fail_with(
    ErrorCode.FILE_NOT_FOUND,
    ErrorCode.INVALID_STATE,
    ErrorCode.UPLOAD_INCOMPLETE,
    ErrorCode.NOT_FOUND,
)
async def complete_parts(
    file_id: str,
    body: CompleteParts,
    principal: Registrant,
    context: ContextDep,
    service: MultipartDep,
) -> FileOut:
    """Assemble the parts (ETags as the store answered them); verification follows."""
    await context.guests.intake.authorise_upload(principal, file_id)
    record = await service.complete(principal.owner.key, file_id, body.parts)
    return FileOut.of(record, thresholds=context.settings.print_thresholds)
