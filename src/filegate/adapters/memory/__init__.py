"""In-memory fakes of the ports, shipped with the code for tests and experiments.

They follow the same contracts as the real adapters (the contract suites prove it), but keep
everything in this process and lose it on exit. One fake per port, one module per fake:

==============  ===========================  ===============================================
module          fake                         ports
==============  ===========================  ===============================================
``repository``  ``MemoryRepository``         ``FileRepository``, ``RetentionRepository``,
                                             ``UsageLedger``,
                                             ``ReconcileQueries``
``queue``       ``MemoryQueue``              ``Queue``, ``DeadLetters``
``store``       ``MemoryObjectStore``        ``ObjectStore``, ``ObjectLister``
``sweeps``      ``MemorySweepClaims``        ``SweepClaims``
``multipart``   ``MemoryMultipartUploads``   ``MultipartUploads`` (over a memory store)
``signer``      ``MemorySigner``             ``UploadSigner``, ``DownloadSigner``
``sessions``    ``MemorySessionRepository``  ``SessionRepository``, ``PurgeableFiles``
                ``MemoryGrantRepository``    ``GrantRepository``
                ``MemoryRateLimiter``        ``RateLimiter``
``inspector``   ``ScriptedInspector``        ``ImageInspector``
``metrics``     ``RecordingMetrics``         ``Metrics``
==============  ===========================  ===============================================

The records a fake keeps of its calls (``SignedUpload``, ``SignedDownload``,
``RecordedVerification``, ``RecordedBatch``) live beside it.
"""

from filegate.adapters.memory.inspector import DEFAULT_INSPECTION, ScriptedInspector
from filegate.adapters.memory.metrics import RecordedBatch, RecordedVerification, RecordingMetrics
from filegate.adapters.memory.multipart import MemoryMultipartUploads
from filegate.adapters.memory.queue import MemoryQueue
from filegate.adapters.memory.repository import MemoryRepository
from filegate.adapters.memory.sessions import (
    MemoryGrantRepository,
    MemoryRateLimiter,
    MemorySessionRepository,
)
from filegate.adapters.memory.signer import MemorySigner, SignedDownload, SignedUpload
from filegate.adapters.memory.store import MemoryObjectStore
from filegate.adapters.memory.sweeps import MemorySweepClaims

__all__ = [
    "DEFAULT_INSPECTION",
    "MemoryGrantRepository",
    "MemoryMultipartUploads",
    "MemoryObjectStore",
    "MemoryQueue",
    "MemoryRateLimiter",
    "MemoryRepository",
    "MemorySessionRepository",
    "MemorySigner",
    "MemorySweepClaims",
    "RecordedBatch",
    "RecordedVerification",
    "RecordingMetrics",
    "ScriptedInspector",
    "SignedDownload",
    "SignedUpload",
]
