"""Process logging: one JSON object per line (or readable text), configured once at start-up.

A small formatter of our own rather than a library: it is thirty lines, adds no dependency,
and fixes the field names and the time format (RFC 3339 UTC) the dashboards and log
queries rely on. Fields passed with ``extra=`` become top-level JSON fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
_CORE_FIELDS = ("time", "level", "logger", "message")
_QUIET_LOGGERS = ("httpx", "httpcore", "botocore", "aiobotocore", "boto3", "urllib3")
"""Libraries whose debug and info lines carry full URLs or signed headers: warnings only."""


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached with ``extra=`` (everything not a standard attribute)."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


def utc_timestamp(created: float) -> str:
    """``created`` (seconds since the epoch) as RFC 3339 UTC with milliseconds."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time``, ``level``, ``logger``,
    ``message``, every ``extra`` field, and ``exception`` / ``stack`` when present.

    An extra field named like a core field is dropped (the core field wins). Values JSON
    cannot encode are written as their ``str()``.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = extra_fields(record)
        entry.update(
            time=utc_timestamp(record.created),
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        ordered = {key: entry.pop(key) for key in _CORE_FIELDS} | entry
        return json.dumps(ordered, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``: for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record.created)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in extra_fields(record).items())
        if not extras:
            return text
        first, newline, rest = text.partition("\n")  # keep a traceback below the fields
        return f"{first} {extras}{newline}{rest}"


def resolve_format(wanted: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """``auto`` is text when ``stream`` is a terminal (a person reads it), JSON otherwise
    (a collector does)."""
    if wanted != "auto":
        return wanted
    return "text" if stream.isatty() else "json"


def configure_logging(
    wanted: LogFormat = "auto", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Send every log record of the process to ``stream`` (stderr) in the resolved format.

    Replaces the root logger's handlers, so calling it again reconfigures rather than
    duplicates. Python warnings are logged too; chatty HTTP and AWS libraries are held at
    WARNING whatever ``level`` says, because their lower levels print signed URLs.
    """
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    json_lines = resolve_format(wanted, target) == "json"
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
