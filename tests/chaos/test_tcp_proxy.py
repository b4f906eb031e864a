"""The fault-injecting TCP proxy does what each fault promises, against a real echo server."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.tcp_faults import TcpFaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(ConnectionResetError):  # the reset test resets it
            while data := self.request.recv(4096):
                self.request.sendall(data)


@pytest.fixture
def proxy() -> Iterator[TcpFaultProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with TcpFaultProxy("127.0.0.1", server.server_address[1]).running() as running:
            yield running
    finally:
        server.shutdown()
        server.server_close()


def connect(proxy: TcpFaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def echo(sock: socket.socket, data: bytes = b"ping") -> bytes:
    sock.sendall(data)
    return sock.recv(4096)


def test_passes_bytes_through_both_ways(proxy: TcpFaultProxy) -> None:
    with connect(proxy) as sock:
        assert echo(sock, b"hello") == b"hello"


def test_refusing_stops_new_connections_until_accepting_again(proxy: TcpFaultProxy) -> None:
    with connect(proxy) as kept:
        assert echo(kept) == b"ping"  # accepted and forwarding before the listener closes
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        assert echo(kept) == b"ping"  # an open connection is left alone
    proxy.accept()
    with connect(proxy) as sock:
        assert echo(sock) == b"ping"


def test_reset_aborts_open_connections_with_an_rst(proxy: TcpFaultProxy) -> None:
    with connect(proxy) as sock:
        assert echo(sock) == b"ping"
        assert proxy.reset_all() == 1
        with pytest.raises(ConnectionResetError):
            for _ in range(3):  # the RST may land after the first send
                sock.sendall(b"again")
                if not sock.recv(4096):
                    raise AssertionError("an orderly close, not a reset")
                time.sleep(0.05)


def test_a_stall_holds_bytes_until_flowing_again(proxy: TcpFaultProxy) -> None:
    with connect(proxy) as sock:
        proxy.stall()
        sock.sendall(b"held")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(4096)
        proxy.flow()
        sock.settimeout(2)
        assert sock.recv(4096) == b"held"


def test_latency_delays_each_direction(proxy: TcpFaultProxy) -> None:
    proxy.latency = 0.2
    with connect(proxy) as sock:
        started = time.monotonic()
        assert echo(sock) == b"ping"
        assert time.monotonic() - started >= 0.4


def test_a_restart_resets_refuses_then_accepts(proxy: TcpFaultProxy) -> None:
    with connect(proxy) as sock:
        echo(sock)
        restarting = threading.Thread(target=proxy.restart, args=(0.5,))
        restarting.start()
        time.sleep(0.2)
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        restarting.join()
    with connect(proxy) as again:
        assert echo(again) == b"ping"
    assert proxy.faults == 1
