"""Ports: one small Protocol per capability. Adapters implement them; the core uses them.

Adapters translate driver failures that may pass (connection refused, timeouts, throttling)
into :class:`filegate.domain.errors.BackendUnavailable`.

Every Protocol is importable from here; each lives in the module of its area:

=================  ==========================================================================
module             Protocols
=================  ==========================================================================
``files``          ``FileRepository``
``storage``        ``ObjectStore``, ``UploadSigner``, ``DownloadSigner``, ``MultipartUploads``
                   (with ``PartReference``), ``EventKeys``, ``LocalPaths``, ``ObjectLister``,
                   ``UploadGate``, ``ServedStore``
``queue``          ``Queue``, ``DeadLetters``, ``UploadLedger``
``sessions``       ``SessionRepository``, ``GrantRepository``, ``RateLimiter``,
                   ``PurgeableFiles``
``lifecycle``      ``RetentionRepository``, ``UsageLedger``,
                   ``ReconcileQueries``
``inspection``     ``ImageInspector``
``sweeps``         ``SweepClaims``
``events``         ``EventFeed``, ``EventOutbox``, ``EndpointStates``
``clock``          ``Clock``
=================  ==========================================================================

The metrics port, ``Metrics``, lives in :mod:`filegate.domain.metrics`.
"""

from filegate.domain.ports.clock import Clock
from filegate.domain.ports.events import EndpointStates, EventFeed, EventOutbox
from filegate.domain.ports.files import FileRepository
from filegate.domain.ports.inspection import ImageInspector
from filegate.domain.ports.lifecycle import (
    ReconcileQueries,
    RetentionRepository,
    UsageLedger,
)
from filegate.domain.ports.queue import DeadLetters, Queue, UploadLedger
from filegate.domain.ports.sessions import (
    GrantRepository,
    PurgeableFiles,
    RateLimiter,
    SessionRepository,
)
from filegate.domain.ports.storage import (
    DownloadSigner,
    EventKeys,
    LocalPaths,
    MultipartUploads,
    ObjectLister,
    ObjectStore,
    PartReference,
    ServedStore,
    UploadGate,
    UploadSigner,
)
from filegate.domain.ports.sweeps import SweepClaims

__all__ = [
    "Clock",
    "DeadLetters",
    "DownloadSigner",
    "EndpointStates",
    "EventFeed",
    "EventKeys",
    "EventOutbox",
    "FileRepository",
    "GrantRepository",
    "ImageInspector",
    "LocalPaths",
    "MultipartUploads",
    "ObjectLister",
    "ObjectStore",
    "PartReference",
    "PurgeableFiles",
    "Queue",
    "RateLimiter",
    "ReconcileQueries",
    "RetentionRepository",
    "ServedStore",
    "SessionRepository",
    "SweepClaims",
    "UploadGate",
    "UploadLedger",
    "UploadSigner",
    "UsageLedger",
]
