"""What the client-side and operator commands share: options, the SDK client, error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from filegate.client import Client, FilegateAPIError, FilegateClientError

if TYPE_CHECKING:
    from filegate.config import Settings

err = Console(stderr=True, soft_wrap=True)
"""Progress, notes and errors go to stderr; results (tables, JSON) to stdout. Lines of text
are never wrapped (a terminal wraps them itself; a log keeps them whole)."""
out = Console(soft_wrap=True)
"""Results: tables (see :mod:`filegate.cli.tables`), JSON, one line per deleted file."""

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="FILEGATE_URL",
        help="Base URL of the filegate server (default: http://127.0.0.1:8000).",
        show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="FILEGATE_TOKEN",
        help="Bearer token (filegate token --user NAME prints one).",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for the embedded database and objects.")
]


def open_client(url: str | None, token: str | None) -> Client:
    """An SDK client for the server the options (or environment) name; exit 2 without a token."""
    if not token:
        err.print("[red]no token:[/] pass --token or set FILEGATE_TOKEN")
        raise typer.Exit(2)
    return Client(url, token)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn an SDK error into a one-line message and exit status 1."""
    try:
        yield
    except FilegateAPIError as exc:
        err.print(f"[red]error:[/] {escape(exc.code)} ({exc.status}): {escape(exc.detail)}")
        raise typer.Exit(1) from exc
    except FilegateClientError as exc:
        err.print(f"[red]error:[/] {escape(exc.code)}: {escape(str(exc))}")
        raise typer.Exit(1) from exc


def load_settings(**overrides: Any) -> Settings:
    """The deployment's ``Settings`` (environment, then the given flags); exit 2 if invalid."""
    from pydantic import ValidationError

    from filegate.config import Settings

    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err.print(f"[red]invalid configuration:[/red]\n{exc}")
        raise typer.Exit(2) from exc


def human_size(size: int) -> str:
    """Bytes in decimal units, as rich's progress bars show them (``2.4 MB``)."""
    if size < 1000:
        return f"{size} bytes"
    scaled, unit = size / 1000, "kB"
    for bigger in ("MB", "GB", "TB"):
        if scaled < 999.95:
            break
        scaled, unit = scaled / 1000, bigger
    return f"{scaled:.1f} {unit}"


def require_database(settings: Settings) -> None:
    """Exit 2 when the embedded SQLite file the settings name does not exist.

    Commands that inspect or repair a deployment (``status``, ``dlq``, ``reconcile``,
    ``doctor``) would otherwise create an empty database in the wrong folder and report
    zeros. A server database (PostgreSQL) is never missing: connecting tells.
    """
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    if not Path(name).is_file():
        where = escape(str(Path(name).resolve()))
        err.print(
            f"[red]no database at {where}[/]: run this where the deployment's data "
            "folder is, pass --data-dir, or set FILEGATE_DATA_DIR or FILEGATE_DATABASE_URL "
            "(filegate serve, worker, migrate and setup create it)"
        )
        raise typer.Exit(2)
