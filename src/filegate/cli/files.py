"""``filegate files ls|show|download|rm``: the caller's files on a remote server."""

from __future__ import annotations

import itertools
import json
import os
import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from filegate.cli.common import Json, Token, Url, err, human_size, open_client, out, reported_errors
from filegate.cli.progress import state_markup
from filegate.cli.tables import Col, Sheet, print_sheets
from filegate.client import File, FilegateClientError, FileState, explain
from filegate.domain.filenames import sanitize_filename

files_app = typer.Typer(
    help="List, inspect, download and delete your files on a filegate server.",
    no_args_is_help=True,
)

FileId = Annotated[str, typer.Argument(metavar="ID", help="The file's id.", show_default=False)]


@files_app.command("ls")
def list_files(
    state: Annotated[
        FileState | None, typer.Option(case_sensitive=False, help="Only files in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many; 0 for all.")] = 50,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List your files, newest first."""
    with open_client(url, token) as client, reported_errors():
        found = client.list(state, page_size=min(limit or 1000, 1000))
        files = list(itertools.islice(found, limit) if limit else found)
    if as_json:
        typer.echo(json.dumps([f.to_json() for f in files], indent=2))
        return
    listing = Sheet(
        (
            Col("id"),
            Col("state", markup=state_markup),
            Col("size", right=True),
            Col("created (UTC)"),
            Col("filename", wraps=True),
            Col("reason", wraps=True),
        )
    )
    for file in files:
        listing.add(
            file.id,
            file.state.value,
            human_size(file.size),
            file.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            file.filename,
            file.reason or "",
        )
    print_sheets(out, listing)
    err.print(f"{len(files)} file{'s' if len(files) != 1 else ''}", highlight=False)


@files_app.command("show")
def show(file_id: FileId, as_json: Json = False, url: Url = None, token: Token = None) -> None:
    """Everything filegate knows about one file."""
    with open_client(url, token) as client, reported_errors():
        file = client.get(file_id)
    if as_json:
        typer.echo(json.dumps(file.to_json(), indent=2))
        return
    print_sheets(out, _details(file))


@files_app.command("download")
def download(
    file_id: FileId,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="File to write, or an existing folder to write the file's name in; "
            "'-' for stdout (default: the file's name, here).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Download a ready file; its SHA-256 is verified before it is kept.

    A folder that does not exist is not created: an error, exit 2.
    """
    _check_destination(output)
    with open_client(url, token) as client, reported_errors():
        if output == "-":
            client.download(file_id, sys.stdout.buffer)
            return
        target = _target(output, client.get(file_id))
        if target.exists() and not force:
            err.print(f"[red]{escape(str(target))} exists[/]; use --force to overwrite it")
            raise typer.Exit(1)
        file = client.download(file_id, target)
    err.print(f"saved {escape(str(target))} ({human_size(file.size)}, SHA-256 verified)")


def _check_destination(output: str | None) -> None:
    """Exit 2 when ``output`` names a folder that does not exist (a trailing ``/``), or a
    file inside one."""
    if output is None or output == "-":
        return
    path = Path(output)
    if _names_folder(output) and not path.is_dir():
        missing = path
    elif not path.parent.is_dir():
        missing = path.parent
    else:
        return
    err.print(f"[red]no such folder: {escape(str(missing))}[/] (create it first)")
    raise typer.Exit(2)


def _names_folder(output: str) -> bool:
    return output.endswith(("/", os.sep))


def _target(output: str | None, file: File) -> Path:
    """Where to write ``file``: ``output``, or its sanitised name in ``output`` (a folder)
    or in the current folder."""
    name = sanitize_filename(file.filename)
    if output is None:
        return Path(name)
    path = Path(output)
    return path / name if path.is_dir() else path


@files_app.command("rm")
def remove(
    file_ids: Annotated[
        list[str], typer.Argument(metavar="ID...", help="Ids of the files to delete.")
    ],
    url: Url = None,
    token: Token = None,
) -> None:
    """Delete files and their bytes (exit 1 if any could not be deleted)."""
    failed = 0
    with open_client(url, token) as client:
        for file_id in file_ids:
            try:
                client.delete(file_id)
            except FilegateClientError as exc:
                failed += 1
                err.print(f"[red]not deleted[/] {escape(file_id)}: {escape(str(exc))}")
            else:
                out.print(f"deleted {escape(file_id)}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _details(file: File) -> Sheet:
    rows: list[tuple[str, str]] = [
        ("id", file.id),
        ("state", file.state.value),
        ("filename", file.filename),
        ("type", file.content_type),
        ("size", f"{human_size(file.size)} ({file.size} bytes)"),
        ("sha256", file.sha256 or ""),
        ("created", file.created_at.isoformat()),
        ("updated", file.updated_at.isoformat()),
    ]
    if file.reason:
        rows.append(("reason", f"{file.reason}: {explain(file.reason)}"))
    if file.image is not None:
        image = file.image
        rows.append(("image", f"{image.width}x{image.height} {image.format}"))
        rows.append(("orientation", str(image.orientation)))
    if file.metadata:
        rows.append(("metadata", json.dumps(dict(file.metadata))))
    details = Sheet((Col("field"), Col("value", wraps=True)), grid=True)
    for name, value in rows:
        details.add(name, value)
    return details
