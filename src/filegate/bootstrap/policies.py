"""Every ``Settings`` → policy conversion, in one place.

Services never read ``Settings``: the composition root turns the settings into the small,
typed policies below and hands each service the one it needs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from filegate.adapters.local.url_signing import UrlSigner
from filegate.adapters.oidc import OidcIssuer
from filegate.config import ConfigurationError, Settings
from filegate.domain.printing import PrintThresholds
from filegate.domain.quotas import QuotaLimits
from filegate.http.context import ApiSettings
from filegate.imaging.inspect import ImageLimits
from filegate.imaging.renditions import RenditionSpec
from filegate.services.grants import GrantPolicy
from filegate.services.reconciler import ReconcilePolicy
from filegate.services.registration import RegistrationPolicy
from filegate.services.sessions import SessionPolicy
from filegate.worker.consumer import ConsumerConfig
from filegate.worker.retry import RetryPolicy


@dataclass(frozen=True, kw_only=True)
class DecodePool:
    """How the decoding processes are sized and bounded."""

    limits: ImageLimits
    renditions: RenditionSpec
    workers: int
    timeout_seconds: float
    memory_limit_mb: int


@dataclass(frozen=True, kw_only=True)
class SweepIntervals:
    """How often the worker runs each periodic sweep (``None``: never)."""

    expiry: timedelta
    sessions: timedelta
    lifecycle: timedelta
    reconcile: timedelta | None


def registration_policy(settings: Settings, *, multipart: bool) -> RegistrationPolicy:
    """Limits of a registration; ``multipart`` when the store takes large files in parts."""
    return RegistrationPolicy(
        max_size=settings.max_file_size,
        allowed_types=frozenset(settings.allowed_types),
        upload_window=settings.upload_window,
        upload_url_ttl=settings.upload_url_ttl,
        multipart_threshold=settings.multipart_threshold if multipart else None,
    )


def quota_limits(settings: Settings) -> QuotaLimits:
    """The per-owner limits of the settings (0: unlimited)."""
    return QuotaLimits(
        max_pending=settings.quota_max_pending,
        max_files=settings.quota_max_files,
        max_bytes=settings.quota_max_bytes,
    )


def reconcile_policy(settings: Settings) -> ReconcilePolicy:
    """The reconciler's thresholds."""
    return ReconcilePolicy(
        lost_event_after=timedelta(seconds=settings.reconcile_lost_event_after_seconds),
        stuck_after=timedelta(seconds=settings.reconcile_stuck_after_seconds),
        orphan_grace=timedelta(seconds=settings.reconcile_orphan_grace_seconds),
        ready_checks_per_run=settings.reconcile_ready_checks,
    )


def session_policy(settings: Settings) -> SessionPolicy:
    """How long guest sessions live and how fast one client address may open them."""
    return SessionPolicy(
        ttl=timedelta(seconds=settings.session_ttl_seconds),
        rate_per_minute=settings.session_rate_per_minute,
    )


def grant_policy(settings: Settings) -> GrantPolicy:
    """Default and largest uses and lifetimes of upload grants."""
    return GrantPolicy(
        default_uses=settings.grant_default_uses,
        max_uses=settings.grant_max_uses,
        default_ttl=timedelta(seconds=settings.grant_default_ttl_seconds),
        max_ttl=timedelta(seconds=settings.grant_max_ttl_seconds),
    )


def max_retention_ahead(settings: Settings) -> timedelta:
    """How far ahead an unpinned file's retention deadline may lie."""
    return timedelta(days=settings.max_retention_days)


def retry_policy(settings: Settings) -> RetryPolicy:
    """Backoff of retried messages."""
    return RetryPolicy(
        base=timedelta(seconds=settings.retry_base_seconds),
        cap=timedelta(seconds=settings.retry_max_seconds),
    )


def consumer_config(settings: Settings) -> ConsumerConfig:
    """How the worker loop receives batches and how it stops."""
    return ConsumerConfig(
        batch_size=settings.batch_size,
        batch_window=timedelta(seconds=settings.batch_window_seconds),
        visibility_timeout=settings.claim_timeout,
        heartbeat_interval=settings.heartbeat_interval,
        concurrency=settings.worker_concurrency,
        shutdown_grace=timedelta(seconds=settings.shutdown_grace_seconds),
    )


def sweep_intervals(settings: Settings) -> SweepIntervals:
    """The worker's maintenance schedule (a reconcile interval of 0 turns it off)."""
    every = timedelta(seconds=settings.sweep_interval_seconds)
    reconcile = settings.reconcile_interval_seconds
    return SweepIntervals(
        expiry=every,
        sessions=every,
        lifecycle=timedelta(seconds=settings.lifecycle_interval_seconds),
        reconcile=timedelta(seconds=reconcile) if reconcile > 0 else None,
    )


def decode_pool(settings: Settings) -> DecodePool:
    """The format allow-list, the pixel, frame, time and memory limits of decoding, its
    strictness, and the renditions it makes."""
    return DecodePool(
        limits=ImageLimits(
            allowed_types=tuple(settings.allowed_types),
            max_pixels=settings.max_pixels,
            max_frames=settings.max_frames,
            strict=settings.decode_strict,
        ),
        renditions=RenditionSpec(
            enabled=settings.renditions,
            thumb_edge=settings.thumb_size,
            preview_edge=settings.preview_size,
            format=settings.rendition_format,
            quality=settings.rendition_quality,
        ),
        workers=settings.decode_workers,
        timeout_seconds=settings.decode_timeout_seconds,
        memory_limit_mb=settings.decode_memory_mb,
    )


def oidc_issuer(settings: Settings) -> OidcIssuer | None:
    """The OpenID Connect issuer whose tokens are accepted, if one is configured."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_audience:
        raise ConfigurationError("FILEGATE_OIDC_ISSUER needs FILEGATE_OIDC_AUDIENCE")
    try:
        return OidcIssuer(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            algorithms=tuple(settings.oidc_algorithms),
            clock_skew_seconds=settings.oidc_clock_skew_seconds,
            cache_seconds=settings.oidc_jwks_cache_seconds,
            refetch_interval_seconds=settings.oidc_refetch_interval_seconds,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def api_settings(settings: Settings) -> ApiSettings:
    """What the HTTP layer reads of the settings."""
    return ApiSettings(
        public_url=settings.public_url,
        max_batch=settings.max_batch_registrations,
        cors_origins=settings.cors_origins,
        web_connect_src=settings.web_connect_src,
        max_request_bytes=settings.max_request_bytes,
        print_thresholds=print_thresholds(settings),
    )


def print_thresholds(settings: Settings) -> PrintThresholds:
    return PrintThresholds(settings.print_good_dpi, settings.print_low_dpi)


def url_signer(settings: Settings, secret: str) -> UrlSigner:
    """The local store's URL signer: the current key derived from the secret, plus
    configured old keys (still accepted, never used to sign)."""
    keys = {kid: key.get_secret_value().encode() for kid, key in settings.url_signing_keys.items()}
    current = settings.url_signing_key_id
    keys.setdefault(current, _derived_key(secret, current))
    return UrlSigner(keys, current)


def client_address_key(secret: str) -> bytes:
    """The key that turns client addresses into the rate limiter's opaque keys."""
    return hmac.new(secret.encode(), b"filegate/client-address", hashlib.sha256).digest()


def _derived_key(secret: str, key_id: str) -> bytes:
    message = f"filegate/url-signing/{key_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()
