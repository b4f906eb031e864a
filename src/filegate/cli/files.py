"""``filegate files ls|show|download|rm``: the caller's files on a remote server."""

from __future__ import annotations

import itertools
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from filegate.cli.common import (
    Json,
    Token,
    Url,
    err,
    human_size,
    open_client,
    reported_errors,
    table,
)
from filegate.cli.progress import state_markup
from filegate.client import File, FilegateClientError, FileState, explain

files_app = typer.Typer(
    help="List, inspect, download and delete your files on a filegate server.",
    no_args_is_help=True,
)
out = Console()

FileId = Annotated[str, typer.Argument(help="The file's id.", show_default=False)]


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
    listing = table(
        Column("id", no_wrap=True),
        Column("state", no_wrap=True),
        Column("size", justify="right", no_wrap=True),
        Column("created (UTC)", no_wrap=True),
        Column("filename", overflow="fold"),
        Column("reason", overflow="fold"),
    )
    for file in files:
        listing.add_row(
            file.id,
            state_markup(file.state.value),
            human_size(file.size),
            file.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            escape(file.filename),
            escape(file.reason or ""),
        )
    out.print(listing)
    out.print(f"{len(files)} file{'s' if len(files) != 1 else ''}", highlight=False)


@files_app.command("show")
def show(file_id: FileId, as_json: Json = False, url: Url = None, token: Token = None) -> None:
    """Everything filegate knows about one file."""
    with open_client(url, token) as client, reported_errors():
        file = client.get(file_id)
    if as_json:
        typer.echo(json.dumps(file.to_json(), indent=2))
        return
    out.print(_details(file))


@files_app.command("download")
def download(
    file_id: FileId,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File or folder to write to ('-': stdout) (default: its name)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Download a ready file; its SHA-256 is verified before it is kept."""
    with open_client(url, token) as client, reported_errors():
        if output is not None and str(output) == "-":
            client.download(file_id, sys.stdout.buffer)
            return
        name = Path(client.get(file_id).filename).name or file_id
        target = output or Path(name)
        if target.is_dir():
            target = target / name
        if target.exists() and not force:
            err.print(f"[red]{escape(str(target))} exists[/]; use --force to overwrite it")
            raise typer.Exit(1)
        file = client.download(file_id, target)
    err.print(f"saved {escape(str(target))} ({human_size(file.size)}, SHA-256 verified)")


@files_app.command("rm")
def remove(
    file_ids: Annotated[list[str], typer.Argument(help="Ids of the files to delete.")],
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


def _details(file: File) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, str]] = [
        ("id", file.id),
        ("state", state_markup(file.state.value)),
        ("filename", escape(file.filename)),
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
        rows.append(("metadata", escape(json.dumps(dict(file.metadata)))))
    for name, value in rows:
        grid.add_row(name, value)
    return grid
