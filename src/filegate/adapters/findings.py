"""The outcome of one provisioning check, shared by the S3 and SQS ``check_*`` helpers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One precise fact a check established: ``what`` was checked, ``ok`` or not, and why.

    ``detail`` is for a person (``filegate doctor`` prints it); it names the resource and
    the expected and actual values, never a secret.
    """

    ok: bool
    what: str
    detail: str
