"""API v1: file changes (retention, print size), audit history, and the caller's usage."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ValidationError

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import FileRecord
from filegate.domain.printing import PrintThresholds
from filegate.http.deps import ContextDep, Reader, Writer
from filegate.http.openapi import may_fail_with
from filegate.http.problems import problem_body
from filegate.http.schemas import BatchItemError, BatchOut, FileOut
from filegate.http.schemas_lifecycle import (
    FilePatch,
    FilePatchBatch,
    FilePatchItem,
    HistoryOut,
    QuotaOut,
    TransitionOut,
)
from filegate.services.changes import FileChangeRequest

router = APIRouter(tags=["lifecycle"])


@router.patch("/v1/files/{file_id}", response_model=FileOut)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.INVALID_STATE)
async def change_file(
    file_id: str, body: FilePatch, principal: Writer, context: ContextDep
) -> FileOut:
    """Change the file's retention and/or its target print size; ``null`` clears either.

    Retention: pin the file (indefinitely) or set its deadline, which must lie ahead, and
    at most ``FILEGATE_MAX_RETENTION_DAYS`` ahead unless the file is pinned. ``print``:
    ``{width_mm, height_mm}`` (each above 0, at most 10 000 mm); the answer carries the
    recomputed ``print_fitness``. A deleted file, or one past its deadline, answers 409
    INVALID_STATE.
    """
    changes = context.lifecycle.changes
    record = await changes.apply(principal.owner.key, file_id, body.change())
    return FileOut.of(record, thresholds=context.settings.print_thresholds)


@router.patch("/v1/files", response_model=BatchOut)
async def change_files(body: FilePatchBatch, principal: Writer, context: ContextDep) -> BatchOut:
    """Change many files (retention and/or print size, as for one); each item gets its file
    or its problem, in order."""
    changes = context.lifecycle.changes
    if len(body.files) > context.settings.max_batch:
        raise FilegateError(
            ErrorCode.VALIDATION_ERROR,
            f"At most {context.settings.max_batch} files per batch.",
            {"limit": context.settings.max_batch},
        )
    parsed = [_parse_item(raw) for raw in body.files]
    valid = [item for item in parsed if isinstance(item, FileChangeRequest)]
    outcomes = iter(await changes.apply_many(principal.owner.key, valid))
    thresholds = context.settings.print_thresholds
    results = [
        _item_out(item if isinstance(item, FilegateError) else next(outcomes), thresholds)
        for item in parsed
    ]
    return BatchOut(files=results)


@router.get("/v1/files/{file_id}/history", response_model=HistoryOut, response_model_by_alias=True)
@may_fail_with(ErrorCode.FILE_NOT_FOUND)
async def history(file_id: str, principal: Reader, context: ContextDep) -> HistoryOut:
    """Every state change of the file, oldest first: time, from, to, reason and actor."""
    steps = await context.lifecycle.history.of(principal.owner.key, file_id)
    return HistoryOut(transitions=[TransitionOut.of(step) for step in steps])


@router.get("/v1/usage", response_model=QuotaOut)
async def usage(principal: Reader, context: ContextDep) -> QuotaOut:
    """The caller's usage (pending registrations, live files, their bytes) and limits."""
    return QuotaOut.of(await context.lifecycle.quotas.status(principal.owner.key))


def _parse_item(raw: dict[str, object]) -> FileChangeRequest | FilegateError:
    try:
        item = FilePatchItem.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
        return FilegateError(ErrorCode.VALIDATION_ERROR, f"Invalid fields: {fields}.")
    return FileChangeRequest(item.id, item.change())


def _item_out(
    outcome: FileRecord | FilegateError, thresholds: PrintThresholds
) -> FileOut | BatchItemError:
    if isinstance(outcome, FilegateError):
        return BatchItemError(error=problem_body(outcome.code, outcome.detail, dict(outcome.extra)))
    return FileOut.of(outcome, thresholds=thresholds)
