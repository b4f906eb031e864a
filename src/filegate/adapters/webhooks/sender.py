"""One webhook delivery attempt over HTTP: signed, to a vetted address, bounded in time and size.

Each attempt resolves the endpoint's host and vets every address
(:mod:`~filegate.adapters.webhooks.addresses`), then connects to the vetted address while
the ``Host`` header, the TLS server name (SNI) and the certificate check keep the
endpoint's host name. Redirects are not followed (a 3xx is a failed attempt), proxies from
the environment are not used, and at most ``max_response_bytes`` of the answer are kept.
The whole attempt, resolution included, ends after ``timeout`` whatever the server does.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from filegate.adapters.webhooks import signing
from filegate.adapters.webhooks.addresses import (
    AddressPolicy,
    AddressRefused,
    Resolver,
    is_ip_literal,
    system_resolver,
    vetted_address,
)
from filegate.domain.webhooks import (
    Delivered,
    DeliveryOutcome,
    Failed,
    Gone,
    WebhookEndpoint,
    check_endpoint_url,
)

EXCERPT_CHARS = 200
"""How much of a failed attempt's response body its detail quotes."""


class HttpWebhookSender:
    """Sends webhook attempts through one shared HTTP client (see the module docstring).

    ``tls`` replaces the system's certificate authorities (tests with their own CA).
    ``resolver`` replaces ``getaddrinfo`` (tests that give a name to a loopback address).
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        timeout: timedelta = timedelta(seconds=10),
        connect_timeout: timedelta = timedelta(seconds=5),
        max_response_bytes: int = 64 * 1024,
        allow_http: bool = False,
        tls: ssl.SSLContext | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._policy = policy
        self._timeout = timeout.total_seconds()
        self._max_bytes = max_response_bytes
        self._allow_http = allow_http
        self._resolver = resolver
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=connect_timeout.total_seconds()),
            follow_redirects=False,
            trust_env=False,  # an environment's proxy would connect to the unvetted name
            verify=tls if tls is not None else True,
            # A pooled connection is keyed by the vetted address alone: reused for another
            # host name on that address, it would skip that name's certificate check.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        )

    async def send(
        self, endpoint: WebhookEndpoint, event_id: str, body: str, now: datetime
    ) -> DeliveryOutcome:
        """Post ``body`` to ``endpoint``, signed for ``event_id`` at ``now``.

        Never raises for what the endpoint, its DNS or the network do: 2xx is Delivered,
        410 Gone, anything else (including a refused address) Failed.
        """
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                outcome = await self._attempt(endpoint, event_id, body, now, started)
        except TimeoutError:
            detail = f"no complete answer within {self._timeout:g} s"
            return Failed(None, detail, _since(started), timed_out=True)
        except httpx.TimeoutException as exc:
            detail = f"timed out: {type(exc).__name__}"
            return Failed(None, detail, _since(started), timed_out=True)
        except AddressRefused as exc:
            return Failed(None, f"address refused: {exc}", _since(started))
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return Failed(None, _error_detail(exc), _since(started))
        return outcome

    async def close(self) -> None:
        """Close the shared client (its connections)."""
        await self._client.aclose()

    async def _attempt(
        self, endpoint: WebhookEndpoint, event_id: str, body: str, now: datetime, started: float
    ) -> DeliveryOutcome:
        check_endpoint_url(endpoint.url, allow_http=self._allow_http)
        url = httpx.URL(endpoint.url)
        host = url.raw_host.decode("ascii")
        address = await vetted_address(host, _port(url), self._policy, self._resolver)
        headers = signing.headers(endpoint.secrets, event_id, now, body)
        headers |= {"host": url.netloc.decode("ascii"), "accept-encoding": "identity"}
        # The TLS server name and certificate check stay on the URL's host, not the address.
        extensions = {} if is_ip_literal(host) else {"sni_hostname": host}
        target = url.copy_with(host=str(address))
        async with self._client.stream(
            "POST", target, headers=headers, content=body.encode(), extensions=extensions
        ) as response:
            excerpt = await _read_limited(response, self._max_bytes)
        return _outcome(response, excerpt, now, _since(started))


def _outcome(
    response: httpx.Response, excerpt: bytes, now: datetime, seconds: float
) -> DeliveryOutcome:
    status = response.status_code
    if 200 <= status < 300:
        return Delivered(status, seconds)
    if status == 410:
        return Gone(status, seconds)
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    return Failed(status, _status_detail(response, excerpt), seconds, retry_after)


def _status_detail(response: httpx.Response, excerpt: bytes) -> str:
    detail = f"HTTP {response.status_code}"
    if response.is_redirect:
        detail += f" (redirect to {response.headers.get('location', '?')!r} not followed)"
    text = " ".join(excerpt.decode("utf-8", "replace").split())[:EXCERPT_CHARS]
    return f"{detail}: {text}" if text else detail


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header (delay seconds or an HTTP-date) as a wait from ``now``.

    None when absent or unreadable; a date in the past is a wait of zero.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, as HTTP-dates always are
        moment = moment.replace(tzinfo=UTC)
    return max(moment - now, timedelta(0))


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body as sent (never decompressed); stops reading there."""
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            break
    return bytes(kept)


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _error_detail(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _since(started: float) -> float:
    return time.perf_counter() - started
