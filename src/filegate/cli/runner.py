"""Long-running processes: the API server (with or without the worker) and the worker alone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Generator
from datetime import timedelta

import uvicorn
from rich.console import Console
from starlette.types import ASGIApp

from filegate.bootstrap.logs import configure_logging
from filegate.bootstrap.runtime import Runtime, open_runtime, open_worker_runtime
from filegate.bootstrap.webhooks import RELAY_INTERVAL
from filegate.config import Settings
from filegate.domain.models import Owner, OwnerKind
from filegate.http.routes.metrics import metrics_app
from filegate.services.reconciler import ReconcileResult
from filegate.worker.consumer import install_signal_handlers
from filegate.worker.periodic import Outcome, run_periodically, sweep_once, worker_name

log = logging.getLogger(__name__)
DEMO_USER = "demo"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: our handlers stop API and worker together.

    Once listening it logs ``filegate serving at URL (ROLE)`` when given a ``role``.
    """

    def __init__(self, config: uvicorn.Config, role: str | None = None) -> None:
        super().__init__(config)
        self.role = role

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.role is not None:
            url = f"http://{_url_host(self.config.host)}:{self._bound_port()}"
            log.info(f"filegate serving at {url} ({self.role})", extra={"url": url})

    def _bound_port(self) -> int:
        for server in self.servers:
            for listener in server.sockets:
                port: int = listener.getsockname()[1]
                return port
        return self.config.port


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _role(settings: Settings, with_worker: bool) -> str:
    """What ``serve`` runs, for its start-up line: ``API + worker``, ``API only``; dev mode."""
    role = "API + worker" if with_worker else "API only; run workers elsewhere"
    return f"{role}; dev mode" if settings.dev else role


async def run_server(settings: Settings, with_worker: bool, out: Console) -> None:
    """Serve the API until SIGTERM/SIGINT; then stop the worker gracefully and exit."""
    configure_logging(settings.log_format, settings.log_level)
    async with open_runtime(settings) as runtime:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        role = _role(settings, with_worker)
        server = _server(runtime.app(), settings.host, settings.port, role)
        jobs: list[Awaitable[None]] = [_serve_until(server, stop), *_metrics_jobs(runtime, stop)]
        if with_worker:
            jobs.extend(_worker_jobs(runtime, stop))
        if settings.dev:
            _print_welcome(runtime, out)
        await asyncio.gather(*jobs)


async def run_worker(settings: Settings) -> None:
    """Consume upload events and run maintenance until SIGTERM/SIGINT."""
    configure_logging(settings.log_format, settings.log_level)
    async with open_worker_runtime(settings) as runtime:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        log.info("worker running", extra={"queue": _redacted(settings.queue_url)})
        await asyncio.gather(*_worker_jobs(runtime, stop), *_metrics_jobs(runtime, stop))


def _redacted(url: str) -> str:
    """A backend URL without its query (endpoints may carry credentials in odd setups)."""
    return url.split("?", 1)[0]


def _server(app: ASGIApp, host: str, port: int, role: str | None = None) -> _Server:
    """uvicorn logging through our handlers (``log_config=None``), without its access log
    (:class:`~filegate.http.telemetry.RequestTelemetryMiddleware` writes one line per request);
    with a ``role``, it logs its start-up line."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        # httptools hands every header line to the app as sent (h11 merges duplicate
        # Content-Length headers first), so the strict framing check sees each shape.
        http="httptools",
    )
    return _Server(config, role)


def _metrics_jobs(runtime: Runtime, stop: asyncio.Event) -> list[Awaitable[None]]:
    """With ``metrics_port`` set, serve ``GET /metrics`` there too (a worker's only HTTP)."""
    port = runtime.settings.metrics_port
    if port is None:
        return []
    app = metrics_app(runtime.metrics, runtime.queue)
    return [_serve_until(_server(app, runtime.settings.host, port), stop)]


def _worker_jobs(runtime: Runtime, stop: asyncio.Event) -> list[Awaitable[None]]:
    """The consumer loop and every periodic sweep."""
    claims, worker = runtime.database.sweep_claims, worker_name()
    sweeps = [run_periodically(s, claims, worker, stop) for s in runtime.sweeps()]
    jobs: list[Awaitable[None]] = [runtime.consumer().run(stop), *sweeps]
    if runtime.webhooks is not None:
        relay = runtime.webhooks.relay.run(stop, RELAY_INTERVAL)
        jobs.extend([relay, runtime.webhooks.consumer().run(stop)])
    return jobs


async def run_sweeps(settings: Settings, *, force: bool) -> dict[str, Outcome]:
    """Every sweep once, where this process claims it (all with ``force``): ``filegate sweep``."""
    async with open_worker_runtime(settings) as runtime:
        claims = runtime.database.sweep_claims
        return await sweep_once(runtime.sweeps(), claims, worker_name(), force=force)


async def run_reconcile(settings: Settings) -> ReconcileResult:
    """One reconciler pass over the configured backends (``filegate reconcile``)."""
    async with open_worker_runtime(settings) as runtime:
        return await runtime.upkeep.reconciler.run()


async def _serve_until(server: uvicorn.Server, stop: asyncio.Event) -> None:
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stop.set()  # the server may have ended on its own (e.g. port taken): stop the rest too
    await serving
    stopping.cancel()


def _print_welcome(runtime: Runtime, out: Console) -> None:
    token = runtime.tokens.mint(Owner(OwnerKind.USER, DEMO_USER), timedelta(days=1))
    settings = runtime.settings
    out.print(f"[bold green]filegate[/] is running at [bold]{settings.public_url}[/]")
    out.print(f"data folder: {settings.data_dir.resolve()}")
    out.print(f"a token for user '{DEMO_USER}' (valid 24 h):")
    print(f"export FILEGATE_TOKEN={token}", flush=True)
