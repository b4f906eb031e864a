"""Settings, read once at the entry point (environment ``FILEGATE_*``, then CLI flags)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from filegate.domain.events import EventType
from filegate.domain.webhooks import secret_key

DEFAULT_ALLOWED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/tiff",
    "image/avif",
    "image/jxl",
)

KNOWN_DEFAULT_SECRETS = frozenset({"", "changeme", "change-me", "secret", "filegate"})
MIN_SECRET_LEN = 16


class WebhookEndpointSettings(BaseModel):
    """One webhook endpoint as the operator configures it (see the README's webhooks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    url: str
    secrets: tuple[str, ...] = Field(min_length=1)
    """``whsec_…`` secrets; every request is signed with each (rotation)."""
    events: tuple[str, ...] = ()
    """Event types wanted (``file.ready`` …); empty: all."""
    max_in_flight: int = Field(default=4, ge=1, le=64)
    """Deliveries to this endpoint at once, per worker process."""

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {t.value for t in EventType}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {sorted(known)}")
        return value

    @field_validator("secrets")
    @classmethod
    def _webhook_secrets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for secret in value:
            secret_key(secret)  # ValueError for anything but whsec_<base64>
        return value


class Settings(BaseSettings):
    """Everything configurable. Backends are chosen by the three URLs.

    Empty URLs are derived from ``data_dir``: SQLite file, local folder, SQL table queue.
    """

    model_config = SettingsConfigDict(env_prefix="FILEGATE_", extra="forbid")

    data_dir: Path = Path("filegate-data")
    database_url: str = ""
    store_url: str = ""
    queue_url: str = "sql://"
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000

    dev: bool = False
    """Embedded development mode: generates and keeps its own secret in ``data_dir``."""
    secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = "HS256"
    jwt_public_key: str | None = None
    """PEM text or a path to it; required for RS256 and EdDSA."""
    oidc_issuer: str | None = None
    """An OpenID Connect issuer whose tokens are accepted (its ``iss``), besides the above."""
    oidc_audience: str | None = None
    """The ``aud`` its tokens must carry (required with an issuer)."""
    oidc_jwks_url: str | None = None
    """Where its keys are; default: the ``jwks_uri`` of its discovery document."""
    oidc_algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    oidc_clock_skew_seconds: float = Field(default=60.0, ge=0, le=300)
    oidc_jwks_cache_seconds: float = Field(default=3600.0, gt=0)
    oidc_refetch_interval_seconds: float = Field(default=60.0, ge=0)
    """Least time between two fetches of the keys (an unknown ``kid`` makes one fetch)."""
    url_signing_key_id: str = "k1"
    url_signing_keys: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra URL-signing keys by id (old keys kept while URLs signed with them may live)."""

    max_file_size: int = 200 * 1024 * 1024
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    max_batch_registrations: int = 500
    max_request_bytes: int = 16 * 1024 * 1024
    """Largest API request body (uploads to the local store are bounded by their URL)."""
    upload_url_ttl_seconds: int = 900
    upload_window_seconds: int = 3600
    expiry_grace_seconds: int = 300
    download_url_ttl_seconds: int = 300
    cors_origins: tuple[str, ...] = ()
    web_connect_src: tuple[str, ...] = ()
    """Extra origins the web page may connect to (CSP ``connect-src``), e.g. the S3
    bucket's origin; the page's own origin and ``public_url``'s are always allowed."""
    multipart_threshold: int = 64 * 1024 * 1024
    """Declared sizes from here up are uploaded in parts where the store supports it."""

    max_pixels: int = 100_000_000
    max_frames: int = 200
    decode_timeout_seconds: float = 20.0
    decode_memory_mb: int = 2048
    decode_workers: int = 2
    decode_strict: bool = True
    """Count decoder warnings (damaged JPEG data the decoder works around) as corrupt."""
    renditions: bool = True
    """Make a thumbnail and a preview of every accepted image, in the verifying decode."""
    rendition_format: Literal["webp", "jpeg"] = "webp"
    rendition_quality: int = Field(default=80, ge=1, le=100)
    thumb_size: int = Field(default=320, ge=16, le=8192)
    """Long edge of the thumbnail, in pixels (never enlarged)."""
    preview_size: int = Field(default=1600, ge=16, le=8192)
    """Long edge of the preview, in pixels (never enlarged); at least ``thumb_size``."""

    batch_size: int = Field(default=10, ge=1, le=10)
    batch_window_seconds: float = 0.1
    worker_concurrency: int = Field(default=2, ge=1)
    visibility_timeout_seconds: int = 120
    """The queue's own visibility timeout (SQS provisioning, the Lambda shape)."""
    claim_timeout_seconds: int = Field(default=10, ge=2)
    """How long ``filegate worker`` claims a received message; the heartbeat renews it."""
    heartbeat_interval_seconds: float = Field(default=3.0, ge=0)
    """How often the worker extends the claim of messages in progress; 0: no heartbeat (claims
    then last ``visibility_timeout_seconds``)."""
    max_receives: int = Field(default=5, ge=1)
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    sweep_interval_seconds: float = 30.0
    shutdown_grace_seconds: float = 30.0

    db_pool_size: int = 10
    db_max_overflow: int = 10

    log_format: Literal["auto", "json", "text"] = "auto"
    """``auto``: text when stderr is a terminal, one JSON object per line otherwise."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Also serve ``GET /metrics`` on this port (the only way for ``filegate worker``)."""
    tracing: Literal["off", "otlp"] = "off"
    """``otlp``: export OpenTelemetry traces (one per file) over OTLP/HTTP, configured by the
    usual ``OTEL_*`` variables; needs the ``otel`` extra."""

    session_ttl_seconds: int = Field(default=6 * 3600, ge=1)
    """Lifetime of a guest session (and of its token)."""
    session_rate_per_minute: int = Field(default=20, ge=0)
    """Sessions one client address may open per minute; 0 turns the limit off."""
    grant_default_uses: int = Field(default=20, ge=1)
    grant_max_uses: int = Field(default=500, ge=1)
    grant_default_ttl_seconds: int = Field(default=900, ge=1)
    grant_max_ttl_seconds: int = Field(default=86400, ge=1)
    purge_batch_size: int = Field(default=100, ge=1, le=1000)
    """Files deleted per ``owner.purge`` message of an ended session."""

    # Retention, quotas, deduplication and the reconciler (issue 4).
    max_retention_days: int = Field(default=365, ge=1)
    """Furthest ``retain_until`` of a file that is not pinned."""
    lifecycle_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the lifecycle sweep enqueues the deletion of files past their deadline."""
    quota_max_pending: int = Field(default=0, ge=0)
    """Registrations per owner waiting for bytes or verification; 0: unlimited."""
    quota_max_files: int = Field(default=0, ge=0)
    """Live files (registered, uploaded, ready) per owner; 0: unlimited."""
    quota_max_bytes: int = Field(default=0, ge=0)
    """Declared bytes of an owner's live files; 0: unlimited."""
    dedupe: bool = True
    """A registration declaring the SHA-256 of one of the owner's ready files returns it."""
    reconcile_interval_seconds: float = Field(default=3600.0, ge=0)
    """How often the worker reconciles database and store; 0: never (``filegate reconcile``)."""
    reconcile_lost_event_after_seconds: int = Field(default=300, ge=0)
    reconcile_stuck_after_seconds: int = Field(default=900, ge=0)
    reconcile_orphan_grace_seconds: int = Field(default=86400, ge=0)
    reconcile_ready_checks: int = Field(default=0, ge=0)
    """READY files whose object is checked per periodic run (in rotation); 0: all."""

    # Print fitness (issue 9).
    print_good_dpi: int = Field(default=300, gt=0)
    """Effective dpi from which a file's print fitness is ``good``."""
    print_low_dpi: int = Field(default=150, gt=0)
    """Effective dpi from which it is ``low`` (below: ``too_low``); under ``print_good_dpi``."""

    # Notifications: the event log, webhooks and the event stream (issue 11).
    event_retention_hours: int = Field(default=7 * 24, ge=1)
    """How long events are kept for streams to resume (``Last-Event-ID``) and for replays."""
    event_stream_max_seconds: float = Field(default=300.0, gt=0)
    """Longest life of one event stream; the client then reconnects with ``Last-Event-ID``."""
    event_stream_keepalive_seconds: float = Field(default=15.0, gt=0)
    """A stream that sent nothing for this long sends a comment line (idle proxies)."""
    webhooks: tuple[WebhookEndpointSettings, ...] = ()
    """The webhook endpoints (JSON list): ``name``, ``url``, ``secrets``, ``events``,
    ``max_in_flight``."""
    webhook_queue_url: str = ""
    """The queue of webhook deliveries, apart from the upload events so that a slow
    endpoint never holds verification up; empty: the SQL queue ``webhooks`` in the
    database (``sqs://…`` for the AWS Lambda shape)."""
    webhook_retry_delays_seconds: tuple[float, ...] = ()
    """Delays between delivery attempts; empty: the default schedule (about a day)."""
    webhook_gone_threshold: int = Field(default=3, ge=1)
    """410 Gone answers in a row after which an endpoint is disabled."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    """Longest a delivery attempt may take, connecting included."""
    webhook_allow_http: bool = False
    """Allow ``http://`` endpoints (development only)."""
    webhook_allow_private: bool = False
    """Allow endpoints on loopback and private addresses (development and tests only)."""
    webhook_max_receives: int = Field(default=20, ge=2)
    """Attempts per delivery on the SQL webhook queue (the retry schedule spans them)."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _heartbeat_within_claim(self) -> Settings:
        if self.heartbeat_interval_seconds >= self.claim_timeout_seconds:
            raise ValueError("heartbeat_interval_seconds must be below claim_timeout_seconds")
        return self

    @model_validator(mode="after")
    def _check_rendition_sizes(self) -> Settings:
        if self.thumb_size > self.preview_size:
            raise ValueError("thumb_size must not exceed preview_size")
        return self

    @model_validator(mode="after")
    def _print_thresholds_in_order(self) -> Settings:
        if self.print_low_dpi >= self.print_good_dpi:
            raise ValueError("print_low_dpi must be below print_good_dpi")
        return self

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'filegate.db'}"
        if not self.store_url:
            self.store_url = f"file://{self.data_dir / 'objects'}"
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def upload_url_ttl(self) -> timedelta:
        return timedelta(seconds=self.upload_url_ttl_seconds)

    @property
    def upload_window(self) -> timedelta:
        return timedelta(seconds=self.upload_window_seconds)

    @property
    def expiry_grace(self) -> timedelta:
        return timedelta(seconds=self.expiry_grace_seconds)

    @property
    def download_url_ttl(self) -> timedelta:
        return timedelta(seconds=self.download_url_ttl_seconds)

    @property
    def visibility_timeout(self) -> timedelta:
        return timedelta(seconds=self.visibility_timeout_seconds)

    @property
    def heartbeat_interval(self) -> timedelta | None:
        """``None`` when the heartbeat is off."""
        if not self.heartbeat_interval_seconds:
            return None
        return timedelta(seconds=self.heartbeat_interval_seconds)

    @property
    def claim_timeout(self) -> timedelta:
        """What the worker loop receives with: short with a heartbeat, else the queue's."""
        if self.heartbeat_interval is None:
            return self.visibility_timeout
        return timedelta(seconds=self.claim_timeout_seconds)


class InsecureSecret(Exception):
    """Raised at start-up when the configured secret is missing or a known default."""


class ConfigurationError(Exception):
    """The settings name a backend or combination filegate cannot build (raised by the
    composition root, ``filegate.bootstrap``; defined here so the CLI can catch it without
    loading the server stack)."""


def resolve_secret(settings: Settings) -> str:
    """The secret to use: the configured one, or in dev mode one kept in ``data_dir``.

    Refuses (raises :class:`InsecureSecret`) a missing or default secret outside dev mode.
    """
    configured = settings.secret.get_secret_value() if settings.secret else ""
    if configured and configured not in KNOWN_DEFAULT_SECRETS and len(configured) >= MIN_SECRET_LEN:
        return configured
    if not settings.dev:
        raise InsecureSecret(
            "FILEGATE_SECRET is missing, too short (< 16 characters) or a known default; "
            "set one, or run in embedded dev mode (--dev) to generate one."
        )
    return _dev_secret(settings.data_dir)


def _dev_secret(data_dir: Path) -> str:
    import secrets

    path = data_dir / "dev-secret"
    if path.exists():
        kept = path.read_text().strip()
        # An empty file is what a crash between creating and writing it leaves behind.
        if len(kept) >= MIN_SECRET_LEN:
            return kept
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value)
    return value
