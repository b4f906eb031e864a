"""API v1: uploading large files in parts (stores with multipart uploads, e.g. S3)."""

from __future__ import annotations

from fastapi import APIRouter, status

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.http.deps import ContextDep, OwnerDep
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


def _service(context: ContextDep) -> MultipartService:
    if context.multipart is None:
        raise FilegateError(
            ErrorCode.INVALID_STATE, "This store takes every file in one upload request."
        )
    return context.multipart


@router.post("/{file_id}/parts", response_model=PartUrls)
async def part_urls(
    file_id: str, body: PartNumbers, owner: OwnerDep, context: ContextDep
) -> PartUrls:
    """Signed upload URLs for these parts; ask again for fresh ones at any time."""
    urls = await _service(context).part_urls(owner.key, file_id, body.part_numbers)
    return PartUrls(parts=[PartUrlOut.of(url) for url in urls])


@router.get("/{file_id}/parts", response_model=UploadedParts)
async def uploaded_parts(file_id: str, owner: OwnerDep, context: ContextDep) -> UploadedParts:
    """The parts stored so far, to resume an interrupted upload."""
    parts = await _service(context).uploaded_parts(owner.key, file_id)
    return UploadedParts(parts=[UploadedPartOut.of(part) for part in parts])


@router.post(
    "/{file_id}/parts/complete", status_code=status.HTTP_202_ACCEPTED, response_model=FileOut
)
async def complete_parts(
    file_id: str, body: CompleteParts, owner: OwnerDep, context: ContextDep
) -> FileOut:
    """Assemble the parts (ETags as the store answered them); verification follows."""
    record = await _service(context).complete(owner.key, file_id, body.parts)
    return FileOut.of(record)
