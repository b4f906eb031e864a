"""Request and response bodies of file changes (retention, print size), history and usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, model_validator

from filegate.domain.models import Transition
from filegate.domain.quotas import QuotaLimits, Usage
from filegate.domain.retention import KEEP, RetentionUpdate
from filegate.http.schemas import PrintIn
from filegate.services.changes import FileChange, PrintChange
from filegate.services.quotas import QuotaStatus

_RETENTION_FIELDS = frozenset({"retain_until", "pinned"})


class FilePatch(BaseModel):
    """A change of a file: fields left out stay as they are; ``null`` clears
    ``retain_until`` or ``print``. Retention and print size change independently."""

    model_config = ConfigDict(extra="forbid")

    retain_until: AwareDatetime | None = Field(
        default=None, description="RFC 3339 deadline; the file is deleted after it."
    )
    pinned: StrictBool = Field(default=False, description="Keep the file indefinitely.")
    print: PrintIn | None = Field(
        default=None, description="Target print size (null clears it); sets print_fitness."
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> FilePatch:
        if not self.model_fields_set & {*_RETENTION_FIELDS, "print"}:
            raise ValueError("give retain_until, pinned, print or several")
        return self

    def change(self) -> FileChange:
        given = self.model_fields_set
        return FileChange(
            retention=self._retention() if given & _RETENTION_FIELDS else None,
            print=PrintChange(self.print.size() if self.print else None)
            if "print" in given
            else None,
        )

    def _retention(self) -> RetentionUpdate:
        given = self.model_fields_set
        return RetentionUpdate(
            retain_until=self.retain_until if "retain_until" in given else KEEP,
            pinned=self.pinned if "pinned" in given else KEEP,
        )


class FilePatchItem(FilePatch):
    """One item of a batch change."""

    id: str = Field(min_length=1, max_length=64)


class FilePatchBatch(BaseModel):
    """Up to the configured maximum of changes; each item is validated on its own."""

    model_config = ConfigDict(extra="forbid")

    files: list[dict[str, Any]] = Field(min_length=1)


class TransitionOut(BaseModel):
    """One step of a file's history."""

    model_config = ConfigDict(populate_by_name=True)

    at: datetime
    from_state: str | None = Field(serialization_alias="from")
    to: str
    reason: str | None
    actor: str

    @classmethod
    def of(cls, step: Transition) -> TransitionOut:
        return cls(
            at=step.at,
            from_state=step.from_state.value if step.from_state is not None else None,
            to=step.to_state.value,
            reason=step.reason,
            actor=step.actor,
        )


class HistoryOut(BaseModel):
    transitions: list[TransitionOut]


class UsageOut(BaseModel):
    pending: int
    files: int
    bytes: int

    @classmethod
    def of(cls, usage: Usage) -> UsageOut:
        return cls(pending=usage.pending, files=usage.files, bytes=usage.bytes)


class LimitsOut(BaseModel):
    """Per-owner limits; 0 means unlimited."""

    max_pending: int
    max_files: int
    max_bytes: int

    @classmethod
    def of(cls, limits: QuotaLimits) -> LimitsOut:
        return cls(
            max_pending=limits.max_pending, max_files=limits.max_files, max_bytes=limits.max_bytes
        )


class QuotaOut(BaseModel):
    usage: UsageOut
    limits: LimitsOut

    @classmethod
    def of(cls, status: QuotaStatus) -> QuotaOut:
        return cls(usage=UsageOut.of(status.usage), limits=LimitsOut.of(status.limits))
