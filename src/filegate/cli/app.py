"""The ``filegate`` command: serve, worker, migrate, token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.markup import escape

from filegate.cli.common import Json, err, out, require_database
from filegate.cli.files import files_app
from filegate.cli.help_format import hide_flag_types
from filegate.cli.ops import dlq_app, status
from filegate.cli.tables import Col, Sheet, print_sheets
from filegate.cli.upload import upload
from filegate.cli.webhooks import webhooks_app
from filegate.config import ConfigurationError, InsecureSecret, Settings, resolve_secret
from filegate.domain.clock import SystemClock
from filegate.domain.models import Owner, OwnerKind

hide_flag_types()
app = typer.Typer(
    help="filegate: register files, upload through presigned URLs, verify in batches.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # a docstring's paragraph is one paragraph, not its lines
)
T = TypeVar("T")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for the embedded database and objects.")
]
Dev = Annotated[
    bool | None,
    typer.Option("--dev", help="Embedded dev mode: generate and keep a secret in the data folder."),
]
MetricsPort = Annotated[
    int | None,
    typer.Option(help="Also serve GET /metrics on this port (env FILEGATE_METRICS_PORT)."),
]


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the CLI flags that were given on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err.print(f"[red]invalid configuration:[/red]\n{exc}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL clients use to reach this server.")
    ] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API only; run workers elsewhere.")
    ] = False,
    dev: Dev = None,
    metrics_port: MetricsPort = None,
) -> None:
    """Run the HTTP API (and, unless --no-worker, the verification worker in-process)."""
    from filegate.cli.runner import run_server  # the server stack loads only when needed

    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        public_url=public_url,
        dev=dev,
        metrics_port=metrics_port,
    )
    _guarded(lambda: asyncio.run(run_server(settings, with_worker=not no_worker, out=err)))


@app.command()
def worker(data_dir: DataDir = None, dev: Dev = None, metrics_port: MetricsPort = None) -> None:
    """Run the verification worker alone (several may share one database)."""
    from filegate.cli.runner import run_worker

    settings = _settings(data_dir=data_dir, dev=dev, metrics_port=metrics_port)
    _guarded(lambda: asyncio.run(run_worker(settings)))


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Bring the database schema up to date (idempotent)."""
    from filegate.adapters.sql.migrate import migrate as apply

    settings = _settings(data_dir=data_dir)
    apply(settings.database_url)
    err.print("database is up to date")


@app.command()
def setup(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Provision the configured backends (idempotent): schema, bucket, CORS, queues, events."""
    try:
        from filegate.bootstrap.provisioning import setup as provision
    except ModuleNotFoundError as exc:
        raise _needs_aws_extra("setup", exc) from exc

    settings = _settings(data_dir=data_dir)
    steps = asyncio.run(provision(settings))
    if as_json:
        typer.echo(json.dumps([{"what": s.what, "changed": s.changed} for s in steps], indent=2))
        return
    marks = {True: "[yellow]changed[/]", False: "[green]ok[/]     ", None: "[green]ensured[/]"}
    for step in steps:
        out.print(f"{marks[step.changed]}  {escape(step.what)}", highlight=False)


@app.command()
def doctor(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Check the configured backends and say precisely what is wrong (exit 1 if anything)."""
    try:
        from filegate.bootstrap.provisioning import doctor as diagnose
    except ModuleNotFoundError as exc:
        raise _needs_aws_extra("doctor", exc) from exc

    settings = _settings(data_dir=data_dir)
    require_database(settings)
    findings = asyncio.run(diagnose(settings))
    if as_json:
        found = [{"ok": f.ok, "what": f.what, "detail": f.detail} for f in findings]
        typer.echo(json.dumps(found, indent=2))
    else:
        for finding in findings:
            mark = "[green]ok  [/]" if finding.ok else "[red]FAIL[/]"
            out.print(f"{mark}  {escape(finding.what)}: {escape(finding.detail)}", highlight=False)
    if not all(finding.ok for finding in findings):
        raise typer.Exit(1)


@app.command()
def reconcile(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Repair what the database and the store disagree on; print what was done."""
    from filegate.cli.runner import run_reconcile

    settings = _settings(data_dir=data_dir)
    require_database(settings)
    result = asyncio.run(run_reconcile(settings))
    if as_json:
        typer.echo(json.dumps(result.counts(), indent=2))
        return
    actions = Sheet((Col("action"), Col("count", right=True)), title="reconcile")
    for name, count in result.counts().items():
        actions.add(name.replace("_", " "), str(count))
    print_sheets(out, actions)


@app.command()
def sweep(
    data_dir: DataDir = None,
    as_json: Json = False,
    force: Annotated[
        bool, typer.Option(help="Run every sweep now, even those another worker just ran.")
    ] = False,
) -> None:
    """Run every periodic sweep once (expiry, sessions, lifecycle, reconciler), for cron.

    A sweep another worker ran less than its interval ago is skipped, as workers skip it
    (the claims are shared through the database); ``--force`` runs them all.
    """
    from filegate.cli.runner import run_sweeps

    settings = _settings(data_dir=data_dir)
    require_database(settings)
    outcomes = asyncio.run(run_sweeps(settings, force=force))
    if as_json:
        typer.echo(json.dumps(outcomes, indent=2))
    else:
        sheet = Sheet((Col("sweep"), Col("outcome")), title="sweep")
        for name, outcome in outcomes.items():
            sheet.add(name, outcome.value)
        print_sheets(out, sheet)
    if "failed" in outcomes.values():
        raise typer.Exit(1)


@app.command()
def token(
    user: Annotated[str, typer.Option(help="User id (the token's sub).")],
    ttl: Annotated[int, typer.Option(help="Validity in seconds.")] = 24 * 3600,
    data_dir: DataDir = None,
    dev: Dev = None,
) -> None:
    """Print a bearer token for a user (HS256 secrets only).

    Guest session tokens come from ``POST /v1/sessions``: they are valid only while their
    session lives, so they cannot be minted offline.
    """
    from filegate.adapters.tokens import TokenAuthority

    settings = _settings(data_dir=data_dir, dev=dev)
    owner = Owner(OwnerKind.USER, user)
    authority = _guarded(
        lambda: TokenAuthority(_secret(settings), SystemClock(), settings.jwt_algorithm)
    )
    typer.echo(authority.mint(owner, timedelta(seconds=ttl)))


def _secret(settings: Settings) -> str:
    return resolve_secret(settings)


def _needs_aws_extra(command: str, missing: ModuleNotFoundError) -> typer.Exit:
    """``setup`` and ``doctor`` load the S3 and SQS provisioning code: the 'aws' extra."""
    hint = escape("pip install 'filegate[aws]'")
    err.print(
        f"[red]filegate {command} needs the 'aws' extra[/red] (missing: {missing.name}): {hint}"
    )
    return typer.Exit(2)


def _guarded(action: Callable[[], T]) -> T:
    try:
        result = action()
    except (InsecureSecret, ConfigurationError) as exc:
        err.print(f"[red]refusing to start:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    return result


# Commands of the SDK's users (against a remote server) and of operators (on the deployment).
app.command(rich_help_panel="Files on a server")(upload)
app.add_typer(files_app, name="files", rich_help_panel="Files on a server")
app.command(rich_help_panel="Operations")(status)
app.add_typer(dlq_app, name="dlq", rich_help_panel="Operations")
app.add_typer(webhooks_app, name="webhooks", rich_help_panel="Operations")
