"""HttpWebhookSender against real receivers on loopback: uvicorn + Starlette, raw asyncio
servers for what no framework would do (dribbled headers, TLS with a recorded server name).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from filegate.adapters.webhooks import AddressPolicy, HttpWebhookSender, new_secret
from filegate.adapters.webhooks.addresses import IPAddress, Resolver, system_resolver
from filegate.adapters.webhooks.sender import parse_retry_after
from filegate.domain.webhooks import Delivered, Failed, Gone, WebhookEndpoint, WebhookSender
from tests.services import require

BODY = '{"type":"file.ready","timestamp":"2026-12-03T10:00:00.000000Z","data":{"id":"f_1"}}'
EVENT_ID = "evt_sender_test"
LOOPBACK = AddressPolicy(allow_loopback=True)
SHORT = timedelta(seconds=0.5)
LONG = timedelta(seconds=30)  # long enough that only a limit other than time can end a send
CHUNK = b"x" * 65536


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 and ::1 (same port); it records every request."""

    port: int
    ipv6: bool
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [request.path for request in self.received]


def receiver_app(receiver: Receiver) -> Starlette:
    async def record(request: Request) -> None:
        body = (await request.body()).decode()
        receiver.received.append(Received(request.url.path, dict(request.headers), body))

    async def ok(request: Request) -> Response:
        await record(request)
        return Response(status_code=204)

    async def answer(request: Request) -> Response:
        """Answers with ``?status=``, ``?retry_after=``, ``?location=`` and ``?body=``."""
        await record(request)
        query = request.query_params
        names = {"retry_after": "retry-after", "location": "location"}
        headers = {header: query[name] for name, header in names.items() if name in query}
        return Response(query.get("body", ""), int(query["status"]), headers)

    async def hang(request: Request) -> Response:
        await record(request)
        await receiver.release.wait()
        return Response(status_code=204)

    async def endless(request: Request) -> Response:
        await record(request)
        return StreamingResponse(forever(CHUNK, 0.0), int(request.query_params["status"]))

    async def dribble(request: Request) -> Response:
        await record(request)
        return StreamingResponse(forever(b"x", 0.05))

    routes = [("/ok", ok), ("/answer", answer), ("/hang", hang)]
    routes += [("/endless", endless), ("/dribble", dribble)]
    return Starlette(routes=[Route(path, handler, methods=["POST"]) for path, handler in routes])


async def forever(chunk: bytes, pause: float) -> AsyncIterator[bytes]:
    while True:
        yield chunk
        await asyncio.sleep(pause)


def loopback_sockets() -> list[socket.socket]:
    """Listening sockets on 127.0.0.1 and, with the same port, on ::1 (when it exists)."""
    for _ in range(5):  # the port the system gave on 127.0.0.1 may be taken on ::1
        v4 = socket.create_server(("127.0.0.1", 0))
        v6 = socket.socket(socket.AF_INET6)
        try:
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::1", v4.getsockname()[1]))
        except OSError as exc:
            v6.close()
            if exc.errno != errno.EADDRINUSE:
                return [v4]
            v4.close()
            continue
        v6.listen()
        return [v4, v6]
    raise OSError("no port free on both 127.0.0.1 and ::1")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sockets = loopback_sockets()
    receiver = Receiver(port=sockets[0].getsockname()[1], ipv6=len(sockets) == 2)
    config = uvicorn.Config(
        receiver_app(receiver), lifespan="off", log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    yield receiver
    receiver.release.set()
    server.should_exit = True
    await task


@contextlib.asynccontextmanager
async def sender_for(
    policy: AddressPolicy = LOOPBACK,
    *,
    timeout: timedelta = timedelta(seconds=10),
    max_response_bytes: int = 64 * 1024,
    tls: ssl.SSLContext | None = None,
    resolver: Resolver = system_resolver,
) -> AsyncIterator[HttpWebhookSender]:
    """A sender that may use ``http://`` (the receivers here are plain HTTP on loopback)."""
    sender = HttpWebhookSender(
        policy,
        timeout=timeout,
        max_response_bytes=max_response_bytes,
        allow_http=True,
        tls=tls,
        resolver=resolver,
    )
    try:
        yield sender
    finally:
        await sender.close()


def endpoint(url: str, *secrets: str) -> WebhookEndpoint:
    return WebhookEndpoint("receiver", url, secrets or (new_secret(),))


def now() -> datetime:
    """Signature checks refuse timestamps five minutes away from the receiver's clock."""
    return datetime.now(UTC)


# -- answers ----------------------------------------------------------------------------


async def test_the_receiver_verifies_the_signature_with_each_of_two_secrets(
    receiver: Receiver,
) -> None:
    old, new = new_secret(), new_secret()
    async with sender_for() as sender:
        outcome = await sender.send(endpoint(receiver.url("/ok"), old, new), EVENT_ID, BODY, now())
    assert isinstance(outcome, Delivered)
    [request] = receiver.received
    assert request.body == BODY
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, request.headers)["data"] == {"id": "f_1"}
    assert request.headers["webhook-id"] == EVENT_ID
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "filegate"


async def test_2xx_is_delivered(receiver: Receiver) -> None:
    async with sender_for() as sender:
        port: WebhookSender = sender  # mypy checks that the sender implements the port
        outcome = await port.send(endpoint(receiver.url("/ok")), EVENT_ID, BODY, now())
    assert isinstance(outcome, Delivered)
    assert outcome.status == 204
    assert outcome.seconds >= 0


async def test_500_is_a_failure_with_its_status_and_an_excerpt_of_the_answer(
    receiver: Receiver,
) -> None:
    url = receiver.url("/answer?status=500&body=database+on+fire")
    async with sender_for() as sender:
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert outcome == Failed(500, "HTTP 500: database on fire", outcome.seconds, None)


async def test_410_means_the_endpoint_is_gone(receiver: Receiver) -> None:
    async with sender_for() as sender:
        outcome = await sender.send(
            endpoint(receiver.url("/answer?status=410")), EVENT_ID, BODY, now()
        )
    assert isinstance(outcome, Gone)
    assert outcome.status == 410


async def test_429_with_retry_after_in_seconds(receiver: Receiver) -> None:
    url = receiver.url("/answer?status=429&retry_after=7")
    async with sender_for() as sender:
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert isinstance(outcome, Failed)
    assert (outcome.status, outcome.retry_after) == (429, timedelta(seconds=7))


async def test_429_with_retry_after_as_an_http_date(receiver: Receiver) -> None:
    moment = now().replace(microsecond=0)
    later = format_datetime(moment + timedelta(minutes=2), usegmt=True).replace(" ", "+")
    url = receiver.url(f"/answer?status=429&retry_after={later}")
    async with sender_for() as sender:
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, moment)
    assert isinstance(outcome, Failed)
    assert (outcome.status, outcome.retry_after) == (429, timedelta(minutes=2))


async def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    url = receiver.url("/answer?status=302&location=/ok")
    async with sender_for() as sender:
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert isinstance(outcome, Failed)
    assert outcome.status == 302
    assert "redirect to '/ok' not followed" in outcome.detail
    assert receiver.paths() == ["/answer"]


# -- time and size limits ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hang", "/dribble"])
async def test_a_receiver_that_hangs_or_dribbles_fails_the_attempt_at_the_time_limit(
    receiver: Receiver, path: str
) -> None:
    """``/dribble`` sends a byte every 50 ms, well within the read time-out: only the
    attempt's own limit can end it."""
    async with sender_for(timeout=SHORT) as sender:
        outcome = await sender.send(endpoint(receiver.url(path)), EVENT_ID, BODY, now())
    assert isinstance(outcome, Failed)
    assert (outcome.status, outcome.timed_out) == (None, True)
    assert outcome.detail == "no complete answer within 0.5 s"
    assert receiver.paths() == [path]


async def test_headers_dribbled_byte_by_byte_cannot_outlast_the_time_limit() -> None:
    async def dribble_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with raw_server(dribble_headers) as port, sender_for(timeout=SHORT) as sender:
        url = f"http://127.0.0.1:{port}/"
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert isinstance(outcome, Failed)
    assert outcome.detail == "no complete answer within 0.5 s"


@pytest.mark.parametrize("status", [200, 500])
async def test_an_endless_answer_is_not_read_beyond_the_limit(
    receiver: Receiver, status: int
) -> None:
    """The body never ends and the time limit is far: only the size limit can end the send."""
    async with sender_for(timeout=LONG, max_response_bytes=100_000) as sender:
        url = receiver.url(f"/endless?status={status}")
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert outcome.status == status
    assert not isinstance(outcome, Failed) or not outcome.timed_out
    assert receiver.paths() == ["/endless"]


async def test_a_closed_port_is_a_failure_without_status() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    async with sender_for() as sender:
        outcome = await sender.send(endpoint(f"http://127.0.0.1:{port}/"), EVENT_ID, BODY, now())
    assert isinstance(outcome, Failed)
    assert (outcome.status, outcome.timed_out) == (None, False)
    assert outcome.detail.startswith("ConnectError")


# -- addresses and schemes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.0.0.1", "127.0.0.1 is loopback"),
        ("[::1]", "::1 is loopback"),
        ("localhost", "localhost resolves to 127.0.0.1 is loopback"),
    ],
)
async def test_loopback_is_refused_unless_allowed(receiver: Receiver, host: str, why: str) -> None:
    async with sender_for(AddressPolicy()) as sender:
        outcome = await sender.send(endpoint(receiver.url("/ok", host)), EVENT_ID, BODY, now())
    assert outcome == Failed(None, f"address refused: {why}", outcome.seconds)
    assert receiver.received == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
async def test_loopback_is_reached_when_allowed(receiver: Receiver, host: str) -> None:
    if host == "[::1]":
        require("IPv6 loopback", receiver.ipv6)
    async with sender_for(LOOPBACK) as sender:
        outcome = await sender.send(endpoint(receiver.url("/ok", host)), EVENT_ID, BODY, now())
    assert isinstance(outcome, Delivered)
    [request] = receiver.received
    assert request.headers["host"] == f"{host}:{receiver.port}"


async def test_http_is_refused_unless_allowed(receiver: Receiver) -> None:
    sender = HttpWebhookSender(LOOPBACK, allow_http=False)
    try:
        outcome = await sender.send(endpoint(receiver.url("/ok")), EVENT_ID, BODY, now())
    finally:
        await sender.close()
    assert isinstance(outcome, Failed)
    assert "must start with https://" in outcome.detail
    assert receiver.received == []


async def test_a_private_address_is_refused_before_any_connection() -> None:
    """10.255.255.1 is never contacted: the refusal comes from the policy, not the network."""
    async with sender_for(AddressPolicy(allow_loopback=True)) as sender:
        outcome = await sender.send(endpoint("http://10.255.255.1/hooks"), EVENT_ID, BODY, now())
    assert outcome == Failed(None, "address refused: 10.255.255.1 is private", outcome.seconds)


# -- TLS: the connection goes to the vetted address, the name stays the URL's -------------


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext
    names: list[str | None] = field(default_factory=list)
    """The server names (SNI) the TLS server was asked for."""


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A certificate for ``receiver.test`` (its chain file) and the CA that signed it (PEM)."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "filegate test CA")])
    start = datetime.now(UTC) - timedelta(hours=1)
    ca = (
        certificate_builder(ca_name, ca_name, ca_key.public_key(), start)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.test")])
    leaf = (
        certificate_builder(leaf_name, ca_name, leaf_key.public_key(), start)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("receiver.test")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = folder / "receiver.pem"
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key)
    return chain, ca.public_bytes(serialization.Encoding.PEM)


def certificate_builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, start: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1))
    )


@pytest.fixture
def tls(certificates: tuple[Path, bytes]) -> Tls:
    chain, ca = certificates
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(chain)
    setup = Tls(server, ssl.create_default_context(cadata=ca.decode()))

    def record_name(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        setup.names.append(name)

    server.sni_callback = record_name
    return setup


class CountingResolver:
    """Answers every name with 127.0.0.1, counting the look-ups."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.lookups.append(host)
        return [ip_address("127.0.0.1")]


async def test_tls_keeps_the_name_for_sni_host_and_certificate_while_connecting_to_the_address(
    tls: Tls,
) -> None:
    seen: list[bytes] = []
    resolver = CountingResolver()
    server = raw_server(answer_204(seen), tls.server)
    async with server as port, sender_for(tls=tls.client, resolver=resolver) as sender:
        url = f"https://receiver.test:{port}/hooks"
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert isinstance(outcome, Delivered)
    assert tls.names == ["receiver.test"]
    assert b"\r\nhost: receiver.test:%d\r\n" % port in seen[0].lower()
    assert resolver.lookups == ["receiver.test"]  # one look-up: the connection used its answer


async def test_tls_refuses_a_certificate_for_another_name_on_the_same_address(tls: Tls) -> None:
    server = raw_server(answer_204([]), tls.server)
    async with server as port, sender_for(tls=tls.client, resolver=CountingResolver()) as sender:
        url = f"https://elsewhere.test:{port}/hooks"
        outcome = await sender.send(endpoint(url), EVENT_ID, BODY, now())
    assert isinstance(outcome, Failed)
    assert outcome.status is None
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.detail
    assert tls.names == ["elsewhere.test"]


# -- Retry-After parsing ----------------------------------------------------------------

MOMENT = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ("120", timedelta(minutes=2)),
        (" 0 ", timedelta(0)),
        ("Thu, 03 Dec 2026 10:05:00 GMT", timedelta(minutes=5)),
        ("Thu, 03 Dec 2026 09:00:00 GMT", timedelta(0)),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("٣", None),
        ("99999999999999999999", timedelta(hours=12)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", timedelta(hours=12)),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, wait: timedelta | None
) -> None:
    assert parse_retry_after(value, MOMENT) == wait


# -- raw servers ------------------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A TCP (or TLS) server on 127.0.0.1 running ``handler`` per connection; its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(run, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await server.wait_closed()


def answer_204(seen: list[bytes]) -> Handler:
    """A handler that records the request head and answers 204."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()

    return handle
