"""``filegate upload``: many files to a remote server, with progress and a summary."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from filegate.cli.common import Json, Token, Url, err, open_client, out
from filegate.cli.progress import UploadDisplay, outcome_state, state_markup
from filegate.cli.tables import Col, Sheet, print_sheets
from filegate.client import (
    FilegateAPIError,
    FilegateClientError,
    FileState,
    UploadOutcome,
    explain,
)


class UploadExit(IntEnum):
    """Exit statuses of ``filegate upload`` (2 is a usage error, as for every command)."""

    OK = 0
    """Every file was uploaded (and, with --wait, is ready)."""
    FAILED = 1
    """At least one file could not be uploaded (network, server or a refused registration)."""
    REJECTED = 3
    """Every upload went through, but verification rejected at least one file (--wait)."""


def upload(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Files, or folders whose files to upload."),
    ],
    parallel: Annotated[
        int, typer.Option("--parallel", "-p", min=1, max=64, help="Uploads at once.")
    ] = 4,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for verification: report ready or rejected.")
    ] = False,
    content_type: Annotated[
        str | None,
        typer.Option(help="Declared type of every file (default: read from the bytes)."),
    ] = None,
    metadata: Annotated[
        str | None, typer.Option(help="JSON object stored with every file, e.g. '{\"album\": 7}'.")
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Also upload the files of sub-folders.")
    ] = False,
    wait_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each file's verification.")
    ] = 120.0,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
    record: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Upload files with progress bars, then print a summary table (or JSON).

    Folders are expanded to the files they hold (hidden files skipped). Exit status: 0 when
    every file was uploaded (with --wait: is ready); 1 when any upload failed; 3 when none
    failed but verification rejected some (--wait); 2 on bad usage.
    """
    extra = _metadata(metadata)
    files = list(expand(paths, recursive))
    if not files:
        err.print("[red]nothing to upload[/]")
        raise typer.Exit(2)
    display = UploadDisplay(err, [str(f) for f in files], [_size(f) for f in files])
    with open_client(url, token) as client, display:
        outcomes = client.upload_many(
            files,
            parallel=parallel,
            content_type=content_type,
            metadata=extra,
            wait=wait,
            wait_timeout=wait_timeout,
            progress=display.on_progress,
            on_outcome=display.on_outcome,
        )
    if err.is_terminal:
        err.print()  # a blank line between the bars and the summary
    report = summary(outcomes)
    if as_json:
        typer.echo(json.dumps([outcome_json(o) for o in outcomes], indent=2))
    else:
        print_sheets(out, report)
    err.print(counts(outcomes), highlight=False)
    if record is not None:
        _record(record, display, report, counts(outcomes))
    raise typer.Exit(exit_status(outcomes))


def expand(paths: Iterable[Path], recursive: bool) -> Iterable[Path]:
    """Each path; a folder becomes its files, sorted (and those of its sub-folders if
    ``recursive``). Hidden entries inside folders are skipped; missing paths are kept, so
    that they are reported as failed."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        entries = path.rglob("*") if recursive else path.iterdir()
        yield from sorted(p for p in entries if p.is_file() and not _hidden(p.relative_to(path)))


def summary(outcomes: list[UploadOutcome]) -> Sheet:
    """One row per file: its state, id and what happened in plain words."""
    rows = Sheet(
        (
            Col("file", wraps=True),
            Col("state", markup=state_markup),
            Col("id"),
            Col("detail", wraps=True),
        ),
        title="Upload summary",
    )
    for outcome in outcomes:
        file = outcome.file
        rows.add(outcome.label, outcome_state(outcome), file.id if file else "", _detail(outcome))
    return rows


def outcome_json(outcome: UploadOutcome) -> dict[str, Any]:
    """An outcome for ``--json``: the path, its state, the API's file or the error."""
    file, error = outcome.file, outcome.error
    return {
        "path": outcome.label,
        "state": outcome_state(outcome),
        "deduplicated": file is not None and file.deduplicated,
        "file": None if file is None else file.to_json(),
        "error": None if error is None else _error_json(error),
    }


def _error_json(error: FilegateClientError) -> dict[str, Any]:
    if isinstance(error, FilegateAPIError):
        return {"code": error.code, "status": error.status, "detail": error.detail}
    return {"code": error.code, "status": None, "detail": str(error)}


def exit_status(outcomes: list[UploadOutcome]) -> UploadExit:
    if any(o.file is None for o in outcomes):
        return UploadExit.FAILED
    if any(o.file is not None and o.file.state is FileState.REJECTED for o in outcomes):
        return UploadExit.REJECTED
    return UploadExit.OK


def _detail(outcome: UploadOutcome) -> str:
    error, file = outcome.error, outcome.file
    if error is not None:
        detail = error.detail if isinstance(error, FilegateAPIError) else str(error)
        return f"{error.code}: {detail}"
    assert file is not None
    if file.state is FileState.READY and file.image is not None:
        image = file.image
        return f"{image.width}x{image.height} {image.format}" + (
            " (deduplicated: already uploaded, nothing sent)" if file.deduplicated else ""
        )
    if file.state is FileState.UPLOADED:
        return "stored; verification pending"
    return f"{explain(file.reason)} ({file.reason})" if file.reason else ""


def counts(outcomes: list[UploadOutcome]) -> str:
    """``5 files: 3 ready, 1 rejected, 1 failed`` (states in the order first met), then
    ``; 2 deduplicated`` when some were already on the server (nothing was sent for them)."""
    tally: dict[str, int] = {}
    for outcome in outcomes:
        state = outcome_state(outcome)
        tally[state] = tally.get(state, 0) + 1
    parts = ", ".join(f"{count} {state}" for state, count in tally.items())
    noun = "file" if len(outcomes) == 1 else "files"
    deduplicated = sum(1 for o in outcomes if o.file is not None and o.file.deduplicated)
    tail = f"; {deduplicated} deduplicated" if deduplicated else ""
    return f"{len(outcomes)} {noun}: {parts}{tail}"


def _metadata(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--metadata") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--metadata")
    return value


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _record(path: Path, display: UploadDisplay, sheet: Sheet, tally: str) -> None:
    """Write the final screen as plain text: printed lines, the bars, the summary."""
    width = err.width if err.is_terminal else 160
    console = Console(record=True, file=io.StringIO(), width=width, force_terminal=True)
    for line in display.printed:
        console.print(line, highlight=False)
    console.print(display.final_renderable())
    console.print()
    print_sheets(console, sheet)
    console.print(tally, highlight=False)
    path.write_text(console.export_text())
