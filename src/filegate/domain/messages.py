"""Queue message bodies → :class:`ObjectCreated` events and filegate's work messages.

Three bodies are understood:

* filegate's own envelope, written by :func:`encode_object_created`::

      {"v": 1, "type": "object.created", "key": "...", "size": 123, "etag": "...",
       "sequencer": "...", "traceparent": "00-..."}

  ``sequencer`` and ``traceparent`` are optional; unknown extra fields are ignored.
  ``v`` is the envelope version: a reader refuses versions it does not know.
  ``traceparent`` is the W3C trace context of the span that sent the event; a malformed one
  is ignored (the event is handled as if it carried none), never a poison message.
* S3 event notifications (``{"Records": [...]}``), several records per body. Keys are
  URL-decoded with ``+`` as space; records other than ``ObjectCreated:*`` are ignored; an
  ``s3:TestEvent`` yields no event. S3-compatible stores that prefix event names with
  ``s3:`` or name another source (MinIO's ``minio:s3``) are read the same way.
* either of the above wrapped in an SNS notification (``{"Type": "Notification",
  "Message": "<json>"}``).

Anything else raises :class:`PoisonMessage` with a short reason.

Work messages of other types share the envelope (``{"v": 1, "type": "...", ...}``):
:func:`parse_work` returns them as :class:`Envelope` for the batch processor to route by
type (see ``filegate.worker.batch``); :func:`parse_events` refuses them. One such type is
defined here: ``files.delete`` (:func:`encode_files_delete`), the lifecycle's deletions;
``owner.purge`` (:func:`encode_owner_purge`), deleting an ended guest session's files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from filegate.domain.errors import PoisonMessage
from filegate.domain.models import ObjectCreated
from filegate.domain.sessions import OwnerPurge
from filegate.domain.tracing import valid_trace_parent

ENVELOPE_VERSION = 1
OBJECT_CREATED = "object.created"
OWNER_PURGE = "owner.purge"
FILES_DELETE = "files.delete"
MAX_IDS_PER_MESSAGE = 100
"""Most file ids one ``files.delete`` message carries (keeps bodies far below SQS's limit)."""


@dataclass(frozen=True)
class Envelope:
    """A filegate work message of a type other than ``object.created``: its fields as sent.

    Only the version is checked here; the handler registered for ``type`` reads the rest.
    """

    type: str
    fields: Mapping[str, Any]


Work = ObjectCreated | Envelope
"""What one message body asks for: upload events and other work messages."""


def encode_object_created(event: ObjectCreated) -> str:
    """The body filegate itself enqueues for ``event``; :func:`parse_events` inverts it."""
    document: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "type": OBJECT_CREATED,
        "key": event.key,
        "size": event.size,
        "etag": event.etag,
    }
    if event.sequencer is not None:
        document["sequencer"] = event.sequencer
    if event.trace_parent is not None:
        document["traceparent"] = event.trace_parent
    return json.dumps(document, separators=(",", ":"))


def parse_events(body: str) -> list[ObjectCreated]:
    """The upload events a message body carries (possibly none).

    Raises :class:`PoisonMessage`, and nothing else, for a body that is not one of the
    understood shapes (a work message of another type included).
    """
    events: list[ObjectCreated] = []
    for item in parse_work(body):
        if isinstance(item, Envelope):
            raise PoisonMessage("unknown event type")
        events.append(item)
    return events


def parse_work(body: str) -> list[Work]:
    """Like :func:`parse_events`, but envelopes of other types come back as :class:`Envelope`."""
    return _parse_document(_load(body), inside_sns=False)


def encode_files_delete(ids: Sequence[str]) -> str:
    """A ``files.delete`` message: delete these files if they are still due (1 to 100 ids)."""
    if not 0 < len(ids) <= MAX_IDS_PER_MESSAGE:
        raise ValueError(f"a files.delete message carries 1 to {MAX_IDS_PER_MESSAGE} ids")
    document = {"v": ENVELOPE_VERSION, "type": FILES_DELETE, "ids": list(ids)}
    return json.dumps(document, separators=(",", ":"))


def files_delete_ids(envelope: Envelope) -> tuple[str, ...]:
    """The ids of a ``files.delete`` envelope; :class:`PoisonMessage` when malformed."""
    ids = envelope.fields.get("ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_IDS_PER_MESSAGE:
        raise PoisonMessage(f"ids must be a list of 1 to {MAX_IDS_PER_MESSAGE} file ids")
    if not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids):
        raise PoisonMessage("ids must be non-empty strings of at most 64 characters")
    return tuple(dict.fromkeys(ids))


def encode_owner_purge(purge: OwnerPurge) -> str:
    """An ``owner.purge`` message: delete the owner's files, a batch at a time."""
    document = {"v": ENVELOPE_VERSION, "type": OWNER_PURGE, "owner": purge.owner}
    return json.dumps(document, separators=(",", ":"))


def owner_purge_of(envelope: Envelope) -> OwnerPurge:
    """The purge an ``owner.purge`` envelope asks for; :class:`PoisonMessage` when malformed."""
    owner = envelope.fields.get("owner")
    if not isinstance(owner, str) or not 0 < len(owner) <= 200:
        raise PoisonMessage("owner must be an owner key of 1 to 200 characters")
    return OwnerPurge(owner)


def _load(body: str) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PoisonMessage("body is not JSON") from exc


def _parse_document(document: object, *, inside_sns: bool) -> list[Work]:
    if not isinstance(document, dict):
        raise PoisonMessage("body is not a JSON object")
    if "v" in document:
        return [_parse_envelope(document)]
    if "Records" in document:
        return list(_parse_s3_records(document["Records"]))
    if document.get("Event") == "s3:TestEvent":
        return []
    if not inside_sns and document.get("Type") == "Notification":
        return _parse_document(_load(_text(document, "Message")), inside_sns=True)
    raise PoisonMessage("unrecognised message shape")


def _parse_envelope(document: dict[str, Any]) -> Work:
    version = document["v"]
    if type(version) is not int or version != ENVELOPE_VERSION:
        raise PoisonMessage(f"unknown envelope version {version!r}"[:100])
    kind = document.get("type")
    if not isinstance(kind, str) or not kind:
        raise PoisonMessage("unknown event type")
    if kind != OBJECT_CREATED:
        return Envelope(kind, document)
    return ObjectCreated(
        key=_key(_text(document, "key")),
        size=_size(document.get("size")),
        etag=_text(document, "etag"),
        sequencer=_optional_text(document, "sequencer"),
        trace_parent=valid_trace_parent(document.get("traceparent")),
    )


def _parse_s3_records(records: object) -> list[ObjectCreated]:
    if not isinstance(records, list):
        raise PoisonMessage("Records is not a list")
    events = []
    for record in records:
        if not isinstance(record, dict):
            raise PoisonMessage("a record is not an object")
        if _is_object_created(record):
            events.append(_parse_s3_object(record.get("s3")))
    return events


def _is_object_created(record: dict[str, Any]) -> bool:
    source = _text(record, "eventSource")
    if source != "aws:s3" and not source.endswith(":s3"):
        raise PoisonMessage("a record is not an S3 event")
    name = _text(record, "eventName").removeprefix("s3:")
    return name.startswith("ObjectCreated:")


def _parse_s3_object(s3: object) -> ObjectCreated:
    stored = s3.get("object") if isinstance(s3, dict) else None
    if not isinstance(stored, dict):
        raise PoisonMessage("a record has no s3.object")
    try:
        key = unquote_plus(_text(stored, "key"), errors="strict")
    except UnicodeDecodeError as exc:
        raise PoisonMessage("a key is not URL-encoded UTF-8") from exc
    return ObjectCreated(
        key=_key(key),
        size=_size(stored.get("size")),
        etag=_text(stored, "eTag"),
        sequencer=_optional_text(stored, "sequencer"),
    )


def _text(document: dict[str, Any], field: str) -> str:
    value = document.get(field)
    if not isinstance(value, str):
        raise PoisonMessage(f"{field} is missing or not a string")
    return value


def _optional_text(document: dict[str, Any], field: str) -> str | None:
    return None if document.get(field) is None else _text(document, field)


def _key(key: str) -> str:
    if not key:
        raise PoisonMessage("key is empty")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a \ud800 escape
        raise PoisonMessage("key is not valid Unicode") from exc
    return key


def _size(size: object) -> int:
    if type(size) is not int or size < 0:
        raise PoisonMessage("size is missing, not an integer or negative")
    return size
