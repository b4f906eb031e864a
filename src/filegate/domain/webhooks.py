"""Webhooks: the endpoints events go to, when a failed delivery is retried, and its outcomes.

Pure: no I/O. The signing and the HTTP request live in ``filegate.adapters.webhooks``; the
worker that delivers through the queue uses only what is defined here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Protocol
from urllib.parse import urlsplit

from filegate.domain.events import EventType
from filegate.domain.ports.queue import SQS_MAX_VISIBILITY

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is base64 after its prefix") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where the events of the types in ``events`` are posted (an empty set: every type).

    ``secrets`` are ``whsec_<base64>`` keys; every request is signed with each of them, so
    that a receiver can move from an old secret to a new one without losing a delivery.
    ``max_in_flight`` bounds the deliveries to this endpoint running at once. The secrets
    are left out of its ``repr``, so that logging an endpoint does not log them.
    """

    name: str
    url: str
    secrets: tuple[str, ...] = field(repr=False)
    events: frozenset[EventType] = frozenset()
    max_in_flight: int = 4

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError(f"webhook endpoint {self.name!r} needs at least one secret")
        for secret in self.secrets:
            secret_key(secret)
        if self.max_in_flight < 1:
            raise ValueError(f"webhook endpoint {self.name!r}: max_in_flight must be >= 1")

    def wants(self, type: EventType) -> bool:
        """Whether events of ``type`` are delivered to this endpoint."""
        return not self.events or type in self.events


def check_endpoint_url(url: str, *, allow_http: bool) -> None:
    """Raise ValueError, saying why, unless ``url`` is a URL filegate may post events to.

    It must be ``https://`` (``http://`` only when ``allow_http``, for development), name a
    host and a valid port, and carry no user name, password or fragment. Which addresses
    the host may resolve to is the sender's address policy, checked at every attempt.
    """
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ValueError(f"webhook URL {url!r} must start with {allowed}")
    if not parts.hostname:
        raise ValueError(f"webhook URL {url!r} names no host")
    if parts.username is not None or parts.password is not None:
        # Not echoing the URL: its password would end up in logs.
        raise ValueError(f"webhook URL to {parts.hostname} must not carry a user name or password")
    if parts.fragment or url.endswith("#"):
        raise ValueError(f"webhook URL {url!r} must not have a fragment")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError(f"webhook URL {url!r} has an invalid port") from None


DEFAULT_RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""Nominal delays before retries 1..7: in all 27 h 35 min 5 s after the first attempt."""

LONGEST_DELAY = SQS_MAX_VISIBILITY
"""No delay exceeds 12 h: a retry waits in the queue, and SQS hides a message no longer."""


@dataclass(frozen=True)
class RetrySchedule:
    """When a failed delivery is tried again: a fixed table of delays, each jittered ±``jitter``.

    The default (:data:`DEFAULT_RETRY_DELAYS`) makes 8 attempts over about 27.5 hours, so a
    receiver that is down for a day still gets every event.

    Proportional jitter (±20 % by default) rather than full jitter: the schedule's delays
    are chosen by hand to span a day, and full jitter could turn the 10-hour wait into a
    few seconds, ending the schedule hours early. ±20 % still spreads the retries of a
    burst of events that failed together (the receiver's outage) over minutes to hours.
    """

    delays: tuple[timedelta, ...] = DEFAULT_RETRY_DELAYS
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if any(delay < timedelta(0) for delay in self.delays):
            raise ValueError("retry delays must not be negative")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"retry jitter must lie in [0, 1), got {self.jitter}")

    @property
    def attempts(self) -> int:
        """How many attempts an event gets in all: the first and one per delay."""
        return 1 + len(self.delays)

    @property
    def span(self) -> timedelta:
        """The sum of the nominal delays: how long after the first attempt the last comes."""
        return sum(self.delays, timedelta(0))

    def delay_at(
        self, age: timedelta, retry_after: timedelta | None, random: Random
    ) -> timedelta | None:
        """How long from now until the next attempt of a delivery whose event is ``age``
        old, or None: the schedule is spent, give up.

        Attempt *n + 1* is due when the event is as old as the first *n* delays together
        (the schedule follows the event's age, not a count of attempts, so a delivery
        deferred for other reasons never skips ahead); an attempt made up to the jitter
        early counts as the one due then, so it is not made twice. The wait is moved by a draw from
        ``[-jitter, +jitter]`` of its step, is at least ``retry_after`` (the receiver's
        ``Retry-After``) and at most :data:`LONGEST_DELAY`.
        """
        for step, offset in zip(self.delays, accumulate(self.delays), strict=True):
            # An attempt made within the jitter before an offset was that offset's attempt.
            if offset - step * self.jitter > age:
                wait = offset - age + step * random.uniform(-self.jitter, self.jitter)
                wait = max(wait, retry_after or timedelta(0), timedelta(0))
                return min(wait, LONGEST_DELAY)
        return None


@dataclass(frozen=True)
class Delivered:
    """The endpoint answered 2xx: the event is delivered."""

    status: int
    seconds: float


@dataclass(frozen=True)
class Failed:
    """The attempt failed and may be retried.

    ``status`` is None when no response came (refused, reset, timed out, address refused);
    ``timed_out`` says it was the attempt's time limit. ``retry_after`` is the receiver's
    ``Retry-After``, when it sent one.
    """

    status: int | None
    detail: str
    seconds: float
    retry_after: timedelta | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class Gone:
    """The endpoint answered 410 Gone: it wants no more events and must be disabled."""

    status: int
    seconds: float


DeliveryOutcome = Delivered | Failed | Gone


def status_class(outcome: DeliveryOutcome) -> str:
    """The metrics label of an outcome: ``2xx`` … ``5xx``, ``timeout`` or ``error``."""
    if isinstance(outcome, Failed) and outcome.status is None:
        return "timeout" if outcome.timed_out else "error"
    assert outcome.status is not None
    return f"{outcome.status // 100}xx"


class WebhookSender(Protocol):
    """Makes one signed delivery attempt of an event's body to an endpoint."""

    async def send(
        self, endpoint: WebhookEndpoint, event_id: str, body: str, now: datetime
    ) -> DeliveryOutcome:
        """Post ``body`` signed with ``event_id`` (the webhook-id) and ``now``.

        Never raises for anything the endpoint or the network does: that is a
        :class:`Failed` outcome.
        """
        ...
