"""A loopback TCP proxy that injects the faults a backend's network can show.

It sits between filegate and a real backend (PostgreSQL, moto's S3/SQS server): point the
backend URL filegate is given at :attr:`TcpFaultProxy.port`. Faults, switched at any time
from the test's thread:

* :meth:`refuse` stops listening, so new connections are refused (ECONNREFUSED);
  :meth:`accept` listens again on the same port.
* :meth:`reset_all` aborts every open connection with an RST (``SO_LINGER`` 0), also
  mid-request.
* :meth:`stall` keeps accepting and holding connections but forwards nothing in either
  direction until :meth:`flow`; bytes held meanwhile are delivered afterwards.
* :attr:`latency` delays every forwarded chunk.
* :meth:`restart` is a backend restart as its clients see it: reset all, refuse, accept.

The proxy runs its own asyncio loop in a daemon thread; every method is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

_CHUNK = 64 * 1024
_T = TypeVar("_T")


class TcpFaultProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream_host:upstream_port``; see the module doc."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.latency = 0.0
        self.faults = 0
        """How many faults were injected (refuse, reset, stall, restart each count one)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._open: set[asyncio.StreamWriter] = set()

    # -- faults, called from the test's thread -------------------------------------------

    def refuse(self) -> None:
        """Stop listening: connections already open stay, new ones are refused."""
        self.faults += 1
        self._call(self._close_listener())

    def accept(self) -> None:
        """Listen again (on the same port)."""
        self._call(self._listen())

    def reset_all(self) -> int:
        """Abort every open connection with an RST; how many there were."""
        self.faults += 1
        return self._call(self._reset_all())

    def stall(self) -> None:
        """Forward nothing (new connections are still accepted) until :meth:`flow`."""
        self.faults += 1
        self._call(self._set_flowing(False))

    def flow(self) -> None:
        """Forward again, held bytes first."""
        self._call(self._set_flowing(True))

    def restart(self, down_for: float) -> None:
        """What a restarting backend looks like: every connection reset, refused for
        ``down_for`` seconds, then accepted again."""
        self.faults += 1
        self._call(self._close_listener())
        self._call(self._reset_all())
        time.sleep(down_for)
        self._call(self._listen())

    @property
    def open_connections(self) -> int:
        return len(self._open)

    # -- life cycle ---------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[TcpFaultProxy]:
        """Listen on a free port until the block ends (then close every connection)."""
        self._thread.start()
        self._call(self._start())
        try:
            yield self
        finally:
            with contextlib.suppress(Exception):
                self._call(self._close_listener())
                self._call(self._reset_all())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    # -- on the proxy's loop -------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _reset_all(self) -> int:
        writers = list(self._open)
        for writer in writers:
            _abort_with_rst(writer)
        self._open.difference_update(writers)
        return len(writers) // 2

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _abort_with_rst(client_w)  # the backend itself refuses: so do we
            return
        pair = {client_w, upstream_w}
        self._open |= pair
        try:
            await asyncio.gather(self._pump(client_r, upstream_w), self._pump(upstream_r, client_w))
        finally:
            for writer in pair:
                if writer in self._open:
                    self._open.discard(writer)
                    writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(_CHUNK):
                await self._flowing.wait()
                if self.latency:
                    await asyncio.sleep(self.latency)
                if writer not in self._open:
                    return  # reset meanwhile
                writer.write(chunk)
                await writer.drain()
            if writer in self._open and writer.can_write_eof():
                writer.write_eof()


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    """Close so the peer sees a connection reset, not an orderly end (linger 0 → RST)."""
    sock: socket.socket | None = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` every 0.1 s; seconds it took; ``AssertionError`` after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started
