"""What both clients share around httpx: configuration, request arguments and retry state."""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx

from filegate_client._calls import Call
from filegate_client._retry import RetryPolicy, retry_after, retryable_error, retryable_status
from filegate_client.errors import FilegateConnectionError

log = logging.getLogger("filegate_client")

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "filegate-python/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def resolve_url(url: str | None) -> str:
    """``url``, else ``FILEGATE_URL``, else the embedded default; without a trailing slash."""
    return (url or os.environ.get("FILEGATE_URL") or DEFAULT_URL).rstrip("/")


def resolve_token(token: str | None) -> str | None:
    """``token``, else ``FILEGATE_TOKEN`` (``None`` when neither is set)."""
    return token or os.environ.get("FILEGATE_TOKEN") or None


def as_policy(retries: RetryPolicy | int) -> RetryPolicy:
    """A policy from an explicit one, or from a number of attempts."""
    return retries if isinstance(retries, RetryPolicy) else RetryPolicy(attempts=max(1, retries))


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def request_arguments(call: Call, token: str | None, timeout: httpx.Timeout) -> dict[str, Any]:
    """Keyword arguments of ``httpx.Client.build_request`` for ``call`` (without its body)."""
    headers = dict(call.headers)
    if token and not call.signed:
        headers["Authorization"] = f"Bearer {token}"
    arguments: dict[str, Any] = {"headers": headers, "params": call.params}
    if call.json is not None:
        arguments["json"] = call.json
    if call.timeout is not None:
        read = max(timeout.read or 0.0, call.timeout)
        arguments["timeout"] = httpx.Timeout(
            connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool
        )
    return arguments


class Attempts:
    """The retry state of one call: after each failed try, how long to wait (or give up)."""

    def __init__(self, policy: RetryPolicy, method: str, url: str, idempotent: bool) -> None:
        self._policy = policy
        self._what = f"{method} {_without_query(url)}"
        self._idempotent = idempotent
        self._failures = 0

    def after_error(self, error: httpx.TransportError) -> float:
        """Seconds to wait before the next try; raises when the failure is final."""
        self._failures += 1
        if self._failures >= self._policy.attempts or not retryable_error(error, self._idempotent):
            raise FilegateConnectionError(
                f"{self._what} failed: {type(error).__name__}: {error}"
            ) from error
        return self._wait(f"{type(error).__name__}", None)

    def after_response(self, response: httpx.Response) -> float | None:
        """Seconds to wait before the next try, or ``None``: this answer is final."""
        status = response.status_code
        if self._failures + 1 >= self._policy.attempts or not retryable_status(
            status, self._idempotent
        ):
            return None
        self._failures += 1
        return self._wait(f"status {status}", retry_after(response))

    def _wait(self, why: str, after: float | None) -> float:
        delay = self._policy.delay(self._failures, after)
        log.info("%s: %s; retry %d in %.2f s", self._what, why, self._failures, delay)
        return delay


def _without_query(url: str) -> str:
    """The URL without its query (signed URLs carry their signature there)."""
    return url.split("?", 1)[0]
