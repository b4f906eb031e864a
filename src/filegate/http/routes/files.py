"""API v1: files."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import RenditionName
from filegate.domain.similarity import DEFAULT_MAX_DISTANCE, HASH_BITS
from filegate.domain.states import FileState
from filegate.http.context import ApiContext
from filegate.http.deps import ContextDep, Reader, Registrant, Writer
from filegate.http.openapi import may_fail_with
from filegate.http.problems import problem_body
from filegate.http.schemas import (
    BatchItemError,
    BatchOut,
    FileList,
    FileOut,
    RegisterBatch,
    RegisterFile,
    UploadInstructions,
    UploadOut,
)
from filegate.services.registration import Registration, RegistrationRequest

MAX_WAIT_SECONDS = 30

router = APIRouter(prefix="/v1/files", tags=["files"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="A retried registration with the same key returns the same file.",
    ),
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FileOut)
@may_fail_with(
    ErrorCode.FILE_TOO_LARGE,
    ErrorCode.QUOTA_EXCEEDED,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.EMPTY_FILE,
    ErrorCode.TOO_MANY_PENDING,
    ErrorCode.IDEMPOTENCY_CONFLICT,
    ErrorCode.INVALID_STATE,
)
async def register_file(
    body: RegisterFile,
    principal: Registrant,
    context: ContextDep,
    idempotency_key: IdempotencyKey = None,
) -> FileOut:
    """Register one file; the response says how to upload its bytes.

    Through an upload grant, each registered file takes one of the grant's uses.
    """
    request = _request_of(body)
    registration = await context.guests.intake.register(principal, request, idempotency_key)
    return _registered(registration, context)


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=BatchOut)
async def register_batch(
    body: RegisterBatch, principal: Registrant, context: ContextDep
) -> BatchOut:
    """Register many files; each item gets its file or its own problem, in order."""
    if len(body.files) > context.settings.max_batch:
        raise FilegateError(
            ErrorCode.VALIDATION_ERROR,
            f"At most {context.settings.max_batch} files per batch.",
            {"limit": context.settings.max_batch},
        )
    parsed: list[RegistrationRequest | FilegateError] = [_parse_item(i) for i in body.files]
    valid = [item for item in parsed if isinstance(item, RegistrationRequest)]
    outcomes = iter(await context.guests.intake.register_many(principal, valid))
    results: list[FileOut | BatchItemError] = []
    for item in parsed:
        outcome = item if isinstance(item, FilegateError) else next(outcomes)
        results.append(_item_out(outcome, context))
    return BatchOut(files=results)


SimilarTo = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="List the ready files whose picture is near this file's, nearest first.",
    ),
]
MaxDistance = Annotated[
    int | None,
    Query(
        ge=0,
        le=HASH_BITS,
        description=f"With similar_to: most differing hash bits (default {DEFAULT_MAX_DISTANCE}).",
    ),
]


@router.get("", response_model=FileList)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.NOT_READY)
async def list_files(
    principal: Reader,
    context: ContextDep,
    state: FileState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
    similar_to: SimilarTo = None,
    max_distance: MaxDistance = None,
) -> FileList:
    """The caller's files, newest first; follow ``next_cursor`` for more.

    With ``similar_to={id}``: instead, up to ``limit`` of the caller's ready files whose
    perceptual hash differs from that file's in at most ``max_distance`` bits (default
    10 of 64), nearest first, then newest, each with its ``distance``; the file itself is
    left out. One page only (``next_cursor`` null); ``state`` and ``cursor`` cannot be
    combined with it (422). FILE_NOT_FOUND for a file that is not the caller's, NOT_READY
    for one that is not ready or has no hash.
    """
    thresholds = context.settings.print_thresholds
    if similar_to is not None:
        _check_similar_combination(state, cursor)
        distance = DEFAULT_MAX_DISTANCE if max_distance is None else max_distance
        found = await context.similar.near(principal.owner.key, similar_to, distance, limit)
        return FileList.similar(found, thresholds)
    if max_distance is not None:
        raise FilegateError(ErrorCode.VALIDATION_ERROR, "max_distance needs similar_to.")
    page = await context.files.list(principal.owner.key, state, limit, cursor)
    files = [FileOut.of(f, thresholds=thresholds) for f in page.items]
    return FileList(files=files, next_cursor=page.next_cursor)


@router.get("/{file_id}", response_model=FileOut)
@may_fail_with(ErrorCode.FILE_NOT_FOUND)
async def get_file(
    file_id: str,
    principal: Registrant,
    context: ContextDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> FileOut:
    """One file; ``wait=N`` long-polls up to N seconds for a final state.

    An upload grant may read only the files it registered (so a phone learns each outcome).
    """
    await context.guests.intake.authorise_upload(principal, file_id)
    owner = principal.owner
    if wait > 0:
        record = await context.files.wait(owner.key, file_id, timedelta(seconds=wait))
    else:
        record = await context.files.get(owner.key, file_id)
    return FileOut.of(record, thresholds=context.settings.print_thresholds)


@router.post("/{file_id}/upload-url", response_model=UploadOut)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.INVALID_STATE)
async def fresh_upload_url(file_id: str, principal: Writer, context: ContextDep) -> UploadOut:
    """A new upload URL (or the multipart instructions) while the file is still registered."""
    owner = principal.owner
    if context.multipart is not None:
        record = await context.files.get(owner.key, file_id)
        instructions = context.multipart.instructions(record)
        if instructions is not None:
            return UploadOut(upload=UploadInstructions.multipart(record.id, instructions))
    upload = await context.registrar.fresh_upload(owner.key, file_id)
    return UploadOut(upload=UploadInstructions.of(upload))


@router.post("/{file_id}/complete", status_code=status.HTTP_202_ACCEPTED, response_model=FileOut)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.INVALID_STATE, ErrorCode.UPLOAD_INCOMPLETE)
async def complete_upload(file_id: str, principal: Registrant, context: ContextDep) -> FileOut:
    """Tell filegate the bytes are in the store (idempotent); verification follows.

    An upload grant may complete only the files it registered.
    """
    record = await context.guests.intake.complete(principal, file_id)
    return FileOut.of(record, thresholds=context.settings.print_thresholds)


@router.get(
    "/{file_id}/content",
    status_code=status.HTTP_307_TEMPORARY_REDIRECT,
    response_class=RedirectResponse,
)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.NOT_READY)
async def download(file_id: str, principal: Reader, context: ContextDep) -> RedirectResponse:
    """Redirect to a short-lived signed download URL (only for ready files)."""
    signed = await context.files.download(principal.owner.key, file_id)
    return RedirectResponse(
        signed.url,
        status_code=status.HTTP_307_TEMPORARY_REDIRECT,
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/{file_id}/preview",
    status_code=status.HTTP_307_TEMPORARY_REDIRECT,
    response_class=RedirectResponse,
)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.NOT_READY, ErrorCode.NO_RENDITION)
async def preview(
    file_id: str,
    principal: Reader,
    context: ContextDep,
    size: Annotated[
        RenditionName, Query(description="Which rendition: `thumb` or `preview`.")
    ] = RenditionName.THUMB,
) -> RedirectResponse:
    """Redirect to a short-lived signed URL of the file's rendition, served inline as
    its own type (WebP or JPEG); only for ready files that have one."""
    signed = await context.previews.sign(principal.owner.key, file_id, size)
    return RedirectResponse(
        signed.url,
        status_code=status.HTTP_307_TEMPORARY_REDIRECT,
        headers={"Cache-Control": "no-store"},
    )


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.FORBIDDEN)
async def delete_file(file_id: str, principal: Registrant, context: ContextDep) -> Response:
    """Delete the file's bytes and mark it deleted.

    An upload grant may delete only a file it registered and has not uploaded yet (so a
    cancelled upload leaves nothing behind); FORBIDDEN once the bytes arrived.
    """
    if principal.grant_id is None:
        await context.files.delete(principal.owner.key, file_id)
    else:
        await context.guests.intake.authorise_upload(principal, file_id)
        await context.files.withdraw(principal.owner.key, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _request_of(body: RegisterFile) -> RegistrationRequest:
    return RegistrationRequest(
        filename=body.filename,
        content_type=body.content_type,
        size=body.size,
        sha256=body.sha256,
        metadata=body.metadata,
        print_size=body.print.size() if body.print else None,
    )


def _check_similar_combination(state: FileState | None, cursor: str | None) -> None:
    """``similar_to`` answers one page of ready files: a state filter or a cursor would
    mean something it cannot do."""
    given = [name for name, value in (("state", state), ("cursor", cursor)) if value is not None]
    if given:
        raise FilegateError(
            ErrorCode.VALIDATION_ERROR,
            f"similar_to cannot be combined with {' or '.join(given)}.",
        )


def _parse_item(raw: dict[str, object]) -> RegistrationRequest | FilegateError:
    try:
        return _request_of(RegisterFile.model_validate(raw))
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return FilegateError(ErrorCode.VALIDATION_ERROR, f"Invalid fields: {fields}.")


def _registered(registration: Registration, context: ApiContext) -> FileOut:
    multipart = context.multipart.instructions(registration.file) if context.multipart else None
    return FileOut.of(
        registration.file,
        registration.upload,
        multipart,
        thresholds=context.settings.print_thresholds,
        deduplicated=registration.deduplicated,
    )


def _item_out(
    outcome: Registration | FilegateError, context: ApiContext
) -> FileOut | BatchItemError:
    if isinstance(outcome, FilegateError):
        return BatchItemError(error=problem_body(outcome.code, outcome.detail, dict(outcome.extra)))
    return _registered(outcome, context)
