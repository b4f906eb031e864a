"""Operator commands: ``filegate status`` and ``filegate dlq ls|redrive|purge``.

They run where the deployment's settings are (environment or ``--data-dir``) and use the
database and the queue directly, not the HTTP API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from filegate.cli.common import DataDir, Json, err, load_settings, out, require_database
from filegate.cli.tables import Col, Sheet, print_sheets

if TYPE_CHECKING:
    from filegate.bootstrap.runtime import Runtime
    from filegate.domain.models import DeadMessage, QueueDepth
    from filegate.domain.ports import DeadLetters
    from filegate.domain.states import FileState

T = TypeVar("T")

dlq_app = typer.Typer(
    help="Inspect, redrive and purge the dead-letter queue (operator command).",
    no_args_is_help=True,
)
_BODY_PREVIEW = 60


@dataclass(frozen=True)
class Status:
    """What ``filegate status`` reports."""

    files: dict[FileState, int]
    queue: QueueDepth


def status(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Files per state, queue depth and oldest message age, dead-letter depth."""
    report = with_runtime(data_dir, _status)
    if as_json:
        typer.echo(json.dumps(_status_json(report), indent=2))
        return
    files = Sheet((Col("state"), Col("files", right=True)), title="files")
    for state, count in report.files.items():
        files.add(state.value, str(count))
    files.total = ("total", str(sum(report.files.values())))
    queue = Sheet((Col(""), Col("messages", right=True)), title="queue")
    depth = report.queue
    queue.add("waiting", str(depth.visible))
    queue.add("in flight", str(depth.in_flight))
    queue.add("oldest message", _age(depth.oldest_age_seconds))
    queue.add("dead letters", str(depth.dead))
    print_sheets(out, files, queue)


@dlq_app.command("ls")
def list_dead(
    limit: Annotated[int, typer.Option(min=1, help="At most this many messages.")] = 20,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Dead messages, oldest first: id, reason, receive count, when sent, start of the body."""
    dead = with_runtime(data_dir, lambda runtime: _dead_letters(runtime).list_dead(limit))
    if as_json:
        typer.echo(json.dumps([_dead_json(d) for d in dead], indent=2))
        return
    listing = Sheet(
        (
            Col("id"),
            Col("reason", wraps=True),
            Col("receives", right=True),
            Col("sent at (UTC)"),
            Col("body", wraps=True),
        ),
        title="dead letters",
    )
    for message in dead:
        listing.add(
            message.id,
            message.reason,
            str(message.receive_count),
            message.sent_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            _preview(message.body),
        )
    print_sheets(out, listing)
    err.print(f"{len(dead)} shown", highlight=False)


@dlq_app.command("redrive")
def redrive(
    limit: Annotated[int, typer.Option(min=1, help="At most this many messages.")] = 1000,
    data_dir: DataDir = None,
) -> None:
    """Move dead messages back to the queue (oldest first), to be processed again."""
    moved = with_runtime(data_dir, lambda runtime: _dead_letters(runtime).redrive(limit))
    out.print(f"redrove {moved} message{'s' if moved != 1 else ''}")


@dlq_app.command("purge")
def purge(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete every dead message for good (asks first, unless --yes)."""
    if not yes:
        typer.confirm("Delete every dead message for good?", abort=True, err=True)
    purged = with_runtime(data_dir, lambda runtime: _dead_letters(runtime).purge_dead())
    out.print(f"purged {purged} message{'s' if purged != 1 else ''}")


# --- plumbing ----------------------------------------------------------------------------


def with_runtime(data_dir: Path | None, action: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``action`` on the worker runtime of the deployment; exit 1 if a backend is down,
    2 if its embedded database does not exist."""
    from filegate.bootstrap.runtime import ConfigurationError, open_worker_runtime
    from filegate.domain.errors import BackendUnavailable

    settings = load_settings(data_dir=data_dir)
    require_database(settings)

    async def run() -> T:
        async with open_worker_runtime(settings) as runtime:
            return await action(runtime)

    try:
        return asyncio.run(run())
    except ConfigurationError as exc:
        err.print(f"[red]invalid configuration:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except BackendUnavailable as exc:
        err.print(f"[red]unavailable:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc


async def _status(runtime: Runtime) -> Status:
    counts = await runtime.repository.count_by_state()
    return Status(counts, await runtime.queue.depth())


def _dead_letters(runtime: Runtime) -> DeadLetters:
    dead_letters = runtime.queues.dead_letters
    if dead_letters is None:
        err.print("[red]this queue's dead letters cannot be listed, redriven or purged[/]")
        raise typer.Exit(2)
    return dead_letters


def _status_json(report: Status) -> dict[str, Any]:
    depth = report.queue
    return {
        "files": {state.value: count for state, count in report.files.items()},
        "queue": {
            "waiting": depth.visible,
            "in_flight": depth.in_flight,
            "oldest_age_seconds": depth.oldest_age_seconds,
            "dead": depth.dead,
        },
    }


def _dead_json(message: DeadMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "reason": message.reason,
        "receive_count": message.receive_count,
        "sent_at": message.sent_at.isoformat(),
        "body": message.body,
    }


def _preview(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= _BODY_PREVIEW else flat[: _BODY_PREVIEW - 1] + "…"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
