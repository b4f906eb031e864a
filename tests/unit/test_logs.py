"""Log formatting: one JSON object per line with the extras as fields; text for terminals."""

from __future__ import annotations

import io
import json
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filegate.bootstrap.logs import JsonFormatter, TextFormatter, configure_logging, resolve_format


def record(message: str = "hello %s", *args: object, **extra: Any) -> logging.LogRecord:
    made = logging.makeLogRecord(
        {"name": "filegate.test", "levelname": "INFO", "levelno": logging.INFO, **extra}
    )
    made.msg, made.args, made.created = message, args, 1_767_225_600.5  # 2026-01-01T00:00:00.5Z
    return made


def test_a_record_is_one_json_object_with_core_fields_first() -> None:
    line = JsonFormatter().format(record("hello %s", "world"))

    entry = json.loads(line)
    assert list(entry)[:4] == ["time", "level", "logger", "message"]
    assert entry == {
        "time": "2026-01-01T00:00:00.500Z",
        "level": "INFO",
        "logger": "filegate.test",
        "message": "hello world",
    }


def test_extras_become_top_level_fields() -> None:
    made = record(request_id="abc", status=201, duration_ms=1.5, route=None)

    entry = json.loads(JsonFormatter().format(made))

    assert (entry["request_id"], entry["status"], entry["duration_ms"]) == ("abc", 201, 1.5)
    assert entry["route"] is None


def test_newlines_and_tracebacks_stay_on_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        made = record("two\nlines", exc_info=sys.exc_info())

    line = JsonFormatter().format(made)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "two\nlines"
    assert "ValueError: boom" in entry["exception"]


def test_values_json_cannot_encode_are_written_as_text() -> None:
    entry = json.loads(JsonFormatter().format(record(path=Path("/x"))))
    assert entry["path"] == "/x"


def test_an_extra_cannot_replace_a_core_field() -> None:
    entry = json.loads(JsonFormatter().format(record(level="forged", logger="forged")))
    assert (entry["level"], entry["logger"]) == ("INFO", "filegate.test")


def test_text_lines_carry_the_extras_as_key_value_pairs() -> None:
    line = TextFormatter().format(record("done", request_id="abc", status=200))
    assert line == "2026-01-01T00:00:00.500Z INFO filegate.test done request_id=abc status=200"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_at_a_terminal_and_json_elsewhere() -> None:
    assert resolve_format("auto", Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Terminal()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "botocore")}
    yield
    root.handlers, root.level = handlers, level
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)
    logging.captureWarnings(False)


@pytest.mark.usefixtures("restore_logging")
def test_configured_logging_writes_json_lines_at_the_given_level() -> None:
    out = io.StringIO()
    configure_logging("auto", "warning", out)

    logging.getLogger("filegate.x").info("not shown")
    logging.getLogger("filegate.x").warning("shown", extra={"file_id": "f1"})

    [line] = out.getvalue().splitlines()
    assert json.loads(line)["file_id"] == "f1"


@pytest.mark.usefixtures("restore_logging")
def test_chatty_libraries_are_held_at_warning_and_warnings_are_logged() -> None:
    out = io.StringIO()
    configure_logging("json", "DEBUG", out)

    logging.getLogger("httpx").info("HTTP Request: PUT https://x/store/k?signature=secret")
    logging.getLogger("botocore.auth").debug("Signature: secret")
    warnings.warn("careful", UserWarning, stacklevel=1)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "secret" not in out.getvalue()
    assert [e["logger"] for e in lines] == ["py.warnings"]


@pytest.mark.usefixtures("restore_logging")
def test_configuring_twice_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", "INFO", first)
    configure_logging("text", "INFO", second)

    logging.getLogger("filegate.x").info("once")

    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
