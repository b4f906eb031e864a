"""``filegate webhooks ls | test URL | replay --since T | enable NAME | secret`` (operators).

They run where the deployment's settings are (the endpoints are configured there) and use
the database and the delivery queue directly.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from filegate.cli.common import DataDir, Json, err, load_settings, out
from filegate.cli.ops import with_runtime
from filegate.cli.tables import Col, Sheet, print_sheets

if TYPE_CHECKING:
    from filegate.bootstrap.runtime import Runtime
    from filegate.bootstrap.webhooks import Webhooks
    from filegate.services.webhooks import Replayed

webhooks_app = typer.Typer(
    help="List, test and replay webhook endpoints (operator command).",
    no_args_is_help=True,
)
TEST_EVENT_TYPE = "webhook.test"


@webhooks_app.command("ls")
def list_endpoints(data_dir: DataDir = None, as_json: Json = False) -> None:
    """The configured endpoints: URL, events, whether disabled, and the delivery queue."""
    rows, depth = with_runtime(data_dir, _listing)
    if as_json:
        typer.echo(json.dumps({"endpoints": rows, "queue": depth}, indent=2))
        return
    sheet = Sheet(
        (Col("name"), Col("url", wraps=True), Col("events", wraps=True), Col("state")),
        title="webhook endpoints",
    )
    for row in rows:
        state = f"disabled {row['disabled_at']}" if row["disabled_at"] else "enabled"
        sheet.add(row["name"], row["url"], ", ".join(row["events"]) or "all", state)
    queue = Sheet((Col(""), Col("deliveries", right=True)), title="delivery queue")
    for label, value in depth.items():
        queue.add(label.replace("_", " "), str(value))
    print_sheets(out, sheet, queue)


@webhooks_app.command("test")
def test_endpoint(
    url: Annotated[str, typer.Argument(help="Where to post a signed test event.")],
    secret: Annotated[
        str | None, typer.Option(help="Sign with this whsec_ secret (default: a new one).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Post one signed ``webhook.test`` event to URL, under the deployment's address rules."""
    from filegate.adapters.webhooks import new_secret
    from filegate.bootstrap.webhooks import sender_for
    from filegate.domain.events import new_event_id, rfc3339
    from filegate.domain.webhooks import (
        Delivered,
        DeliveryOutcome,
        WebhookEndpoint,
        check_endpoint_url,
    )

    settings = load_settings(data_dir=data_dir)
    try:
        check_endpoint_url(url, allow_http=settings.webhook_allow_http)
    except ValueError as exc:
        err.print(f"[red]refused:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    key = secret or new_secret()
    endpoint = WebhookEndpoint(name="test", url=url, secrets=(key,))
    now = datetime.now(UTC)
    body = json.dumps(
        {"type": TEST_EVENT_TYPE, "timestamp": rfc3339(now), "data": {"test": True}},
        separators=(",", ":"),
    )

    async def send() -> DeliveryOutcome:
        sender = sender_for(settings)
        try:
            return await sender.send(endpoint, new_event_id(), body, now)
        finally:
            await sender.close()

    outcome = asyncio.run(send())
    if secret is None:
        err.print(f"signed with a new secret: {key}", highlight=False)
    detail = getattr(outcome, "detail", "")
    answer = f"status {outcome.status}" if outcome.status is not None else "no answer"
    out.print(
        f"{type(outcome).__name__.lower()}: {answer} in {outcome.seconds:.3f} s"
        + (f" ({escape(detail)})" if detail else ""),
        highlight=False,
    )
    if not isinstance(outcome, Delivered):
        raise typer.Exit(1)


@webhooks_app.command("replay")
def replay(
    since: Annotated[
        datetime, typer.Option(help="Events that occurred at or after this time (UTC if naive).")
    ],
    event: Annotated[
        list[str] | None, typer.Option("--event", help="Only this event type (repeatable).")
    ] = None,
    endpoint: Annotated[str | None, typer.Option(help="Only to this endpoint.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Enqueue the deliveries of kept events again, with their original webhook-ids."""
    from filegate.domain.events import EventType

    try:
        types = [EventType(t) for t in event or []]
    except ValueError as exc:
        err.print(f"[red]unknown event type:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)

    async def run(runtime: Runtime) -> Replayed:
        return await _webhooks(runtime).relay.replay(moment, types, endpoint)

    try:
        replayed = with_runtime(data_dir, run)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    out.print(
        f"replayed {replayed.events} events as {replayed.deliveries} deliveries", highlight=False
    )


@webhooks_app.command("enable")
def enable(
    name: Annotated[str, typer.Argument(help="The endpoint's name.")],
    data_dir: DataDir = None,
) -> None:
    """Enable an endpoint that was disabled after answering 410 Gone."""

    async def run(runtime: Runtime) -> bool:
        return await _webhooks(runtime).states.enable(name)

    enabled = with_runtime(data_dir, run)
    out.print(f"{name}: {'enabled again' if enabled else 'was not disabled'}", highlight=False)


@webhooks_app.command("secret")
def secret() -> None:
    """Print a new random ``whsec_`` secret for an endpoint."""
    from filegate.adapters.webhooks import new_secret

    typer.echo(new_secret())


async def _listing(runtime: Runtime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    webhooks = _webhooks(runtime)
    disabled = await webhooks.states.disabled()
    rows = [
        {
            "name": e.name,
            "url": e.url,
            "events": sorted(t.value for t in e.events),
            "max_in_flight": e.max_in_flight,
            "disabled_at": disabled[e.name].isoformat() if e.name in disabled else None,
        }
        for e in webhooks.endpoints
    ]
    depth = await webhooks.queue.depth()
    queue = {
        "waiting": depth.visible,
        "in_flight": depth.in_flight,
        "oldest_age_seconds": depth.oldest_age_seconds,
        "dead": depth.dead,
    }
    return rows, queue


def _webhooks(runtime: Runtime) -> Webhooks:
    if runtime.webhooks is None:
        err.print("[red]no webhook endpoints are configured[/] (FILEGATE_WEBHOOKS)")
        raise typer.Exit(2)
    return runtime.webhooks
