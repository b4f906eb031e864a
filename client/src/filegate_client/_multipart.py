"""Uploading in parts (the ``MULTIPART`` instructions of stores such as S3), resumably.

Each round lists the parts the store holds, uploads the missing ones through fresh part
URLs, and starts again after a failure a later round can mend; once every part is stored,
the upload is completed with the ETags the store listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from filegate_client._calls import Body, Call, Flow, Report, checked, file_path
from filegate_client._sources import Blob
from filegate_client.errors import (
    FilegateClientError,
    FilegateConnectionError,
    PermissionDeniedError,
    ServerError,
)
from filegate_client.models import File, PartUrl, StoredPart, UploadInstructions
from filegate_client.progress import UploadPhase

MULTIPART_ROUNDS = 4
PART_URLS_PER_CALL = 16
"""Part URLs asked for at once, so that none expires while earlier parts upload."""

_RESUMABLE = (FilegateConnectionError, ServerError, PermissionDeniedError)
"""Part failures after which the next round lists the stored parts and carries on."""


@dataclass(frozen=True)
class _Plan:
    size: int
    part_size: int
    count: int

    def length(self, number: int) -> int:
        return self.part_size if number < self.count else self.size - self.part_size * (number - 1)

    def offset(self, number: int) -> int:
        return self.part_size * (number - 1)


def upload_parts(
    file_id: str, instructions: UploadInstructions, blob: Blob, report: Report
) -> Flow[File]:
    """Each round lists the stored parts, uploads the missing ones; then completes."""
    if instructions.part_size is None or instructions.part_count is None:
        raise FilegateClientError("multipart instructions without part size or count")
    plan = _Plan(blob.size, instructions.part_size, instructions.part_count)
    parts_path = file_path(file_id, "/parts")
    for round_number in range(1, MULTIPART_ROUNDS + 1):
        stored = yield from _stored_parts(parts_path, plan)
        missing = [n for n in range(1, plan.count + 1) if n not in stored]
        if not missing:
            return (yield from _complete_parts(parts_path, stored))
        try:
            tally = _Tally(stored, plan.size, report)
            yield from _put_parts(parts_path, plan, missing, blob, tally)
        except _RESUMABLE:
            if round_number == MULTIPART_ROUNDS:
                raise
    raise FilegateClientError("multipart upload did not finish", "UPLOAD_INCOMPLETE")


def _stored_parts(parts_path: str, plan: _Plan) -> Flow[dict[int, StoredPart]]:
    response = yield Call("GET", parts_path)
    parts = [StoredPart.from_json(p) for p in checked(response, 200).json()["parts"]]
    return {p.number: p for p in parts if p.size == plan.length(p.number)}


class _Tally:
    """Bytes of a multipart upload stored so far, plus those of the part being sent."""

    def __init__(self, stored: Mapping[int, StoredPart], total: int, report: Report) -> None:
        self._done = sum(p.size for p in stored.values())
        self._total = total
        self._report = report
        report(UploadPhase.UPLOADING, self._done, total)

    def sending(self, sent: int) -> None:
        self._report(UploadPhase.UPLOADING, self._done + sent, self._total)

    def stored(self, length: int) -> None:
        self._done += length
        self._report(UploadPhase.UPLOADING, self._done, self._total)


def _put_parts(
    parts_path: str, plan: _Plan, numbers: list[int], blob: Blob, tally: _Tally
) -> Flow[None]:
    for start in range(0, len(numbers), PART_URLS_PER_CALL):
        wanted = numbers[start : start + PART_URLS_PER_CALL]
        response = yield Call("POST", parts_path, json={"part_numbers": wanted})
        urls = [PartUrl.from_json(p) for p in checked(response, 200).json()["parts"]]
        for url in urls:
            yield from _put_part(url, plan, blob, tally)


def _put_part(url: PartUrl, plan: _Plan, blob: Blob, tally: _Tally) -> Flow[None]:
    length = plan.length(url.number)
    body = Body(blob, plan.offset(url.number), length, tally.sending)
    response = yield Call("PUT", url.url, headers=url.headers, body=body, signed=True)
    checked(response)
    tally.stored(length)


def _complete_parts(parts_path: str, stored: Mapping[int, StoredPart]) -> Flow[File]:
    parts = [{"number": n, "etag": stored[n].etag} for n in sorted(stored)]
    response = yield Call("POST", f"{parts_path}/complete", json={"parts": parts})
    return File.from_json(checked(response, 202, 200).json())
