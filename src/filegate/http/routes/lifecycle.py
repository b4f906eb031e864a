"""API v1: retention changes, a file's audit history, and the caller's quota usage."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ValidationError

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.domain.models import FileRecord
from filegate.http.deps import ContextDep, Reader, Writer
from filegate.http.openapi import may_fail_with
from filegate.http.problems import problem_body
from filegate.http.schemas import BatchItemError, BatchOut, FileOut
from filegate.http.schemas_lifecycle import (
    HistoryOut,
    QuotaOut,
    RetentionBatch,
    RetentionItem,
    RetentionPatch,
    TransitionOut,
)
from filegate.services.retention import RetentionRequest

router = APIRouter(tags=["lifecycle"])


@router.patch("/v1/files/{file_id}", response_model=FileOut)
@may_fail_with(ErrorCode.FILE_NOT_FOUND, ErrorCode.INVALID_STATE)
async def set_retention(
    file_id: str, body: RetentionPatch, principal: Writer, context: ContextDep
) -> FileOut:
    """Pin the file (indefinitely) or set its retention deadline; ``null`` clears it.

    The deadline must lie ahead, and at most ``FILEGATE_MAX_RETENTION_DAYS`` ahead unless
    the file is pinned. A deleted file, or one past its deadline, answers 409 INVALID_STATE.
    """
    retention = context.lifecycle.retention
    record = await retention.update(principal.owner.key, file_id, body.update())
    return FileOut.of(record)


@router.patch("/v1/files", response_model=BatchOut)
async def set_retention_batch(
    body: RetentionBatch, principal: Writer, context: ContextDep
) -> BatchOut:
    """Change the retention of many files; each item gets its file or its problem, in order."""
    retention = context.lifecycle.retention
    if len(body.files) > context.settings.max_batch:
        raise FilegateError(
            ErrorCode.VALIDATION_ERROR,
            f"At most {context.settings.max_batch} files per batch.",
            {"limit": context.settings.max_batch},
        )
    parsed = [_parse_item(raw) for raw in body.files]
    valid = [item for item in parsed if isinstance(item, RetentionRequest)]
    outcomes = iter(await retention.update_many(principal.owner.key, valid))
    results = [
        _item_out(item if isinstance(item, FilegateError) else next(outcomes)) for item in parsed
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


def _parse_item(raw: dict[str, object]) -> RetentionRequest | FilegateError:
    try:
        item = RetentionItem.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
        return FilegateError(ErrorCode.VALIDATION_ERROR, f"Invalid fields: {fields}.")
    return RetentionRequest(item.id, item.update())


def _item_out(outcome: FileRecord | FilegateError) -> FileOut | BatchItemError:
    if isinstance(outcome, FilegateError):
        return BatchItemError(error=problem_body(outcome.code, outcome.detail, dict(outcome.extra)))
    return FileOut.of(outcome)
