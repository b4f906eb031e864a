"""HMAC-signed URLs: the terms a URL grants, signed into its query and verified on use.

A URL names the key id it was signed with, so keys can rotate: new URLs use the current
key, and a URL signed with an older key verifies for as long as that key is configured.
The signature covers a canonical string of *every* bound field (absent fields as empty),
so removing, adding or altering any of them breaks it. The optional ``disposition`` field
(``inline``) joins the canonical string only when present, so URLs without it sign as they
always did. Pure: ``hmac`` and ``hashlib`` only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from filegate.domain.errors import ErrorCode, FilegateError

SCHEME = "FG1-HMAC-SHA256"
"""Names the canonical form; a change of form gets a new name, so old URLs fail cleanly."""

MIN_KEY_BYTES = 16

KEY_ID_PARAM = "kid"
SIGNATURE_PARAM = "sig"
_BOUND_PARAMS = ("expires", "type", "length", "sha256", "filename")
_DISPOSITION_PARAM = "disposition"
_INLINE = "inline"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UNRESERVED_OR_SLASH = re.compile(r"[A-Za-z0-9_.~/-]*")
"""RFC 3986's unreserved characters, which percent-encoding leaves as they are, and ``/``."""


@dataclass(frozen=True)
class UrlGrant:
    """What a signed URL permits: ``method`` on ``key`` until ``expires_at``, on these terms.

    ``content_type`` is the type to send (PUT) or to serve (GET). Uploads bind ``length``
    and ``sha256`` (``None``: not declared); downloads bind the ``filename`` to attach as.
    ``inline`` downloads are served to be shown in place rather than attached.
    ``expires_at`` is UTC with whole seconds (the URL carries Unix seconds).
    """

    method: str
    key: str
    expires_at: datetime
    content_type: str
    length: int | None = None
    sha256: str | None = None
    filename: str | None = None
    inline: bool = False


class UrlSigner:
    """Signs grants with the current key; verifies with whichever configured key a URL names."""

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in keys:
            raise ValueError(f"no signing key with id {current_key_id!r}")
        if any(len(secret) < MIN_KEY_BYTES for secret in keys.values()):
            raise ValueError(f"URL-signing keys need at least {MIN_KEY_BYTES} bytes")
        self._keys = dict(keys)
        self._current = current_key_id
        # Keyed once per key: each signature copies the keyed state instead of keying again.
        self._macs = {
            kid: hmac.new(secret, digestmod=hashlib.sha256) for kid, secret in keys.items()
        }

    def sign(self, grant: UrlGrant) -> dict[str, str]:
        """The query parameters that carry ``grant``, its key id and its signature."""
        params = _encode(grant)
        params[KEY_ID_PARAM] = self._current
        params[SIGNATURE_PARAM] = self._signature(self._current, grant.method, grant.key, params)
        return params

    def verify(self, method: str, key: str, query: Iterable[tuple[str, str]]) -> UrlGrant:
        """The grant a URL's query carries for ``method`` on ``key``, if its signature holds.

        Raises ``FilegateError(SIGNATURE_MISMATCH)`` for a missing, unknown, repeated or
        altered parameter, an unknown key id, or a signature made for another method or
        key. Expiry is the caller's to check (it needs a clock).
        """
        params = _single_valued(query)
        key_id = params.pop(KEY_ID_PARAM, "")
        given = params.pop(SIGNATURE_PARAM, "")
        if key_id not in self._keys or not given:
            raise _mismatch()
        expected = self._signature(key_id, method, key, params)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise _mismatch()
        return _decode(method, key, params)

    def _signature(self, key_id: str, method: str, key: str, params: Mapping[str, str]) -> str:
        canonical = "\n".join(
            [SCHEME, key_id, method.upper(), _escape(key)]
            + [_escape(params.get(name, "")) for name in _BOUND_PARAMS]
            + [_escape(params[name]) for name in (_DISPOSITION_PARAM,) if name in params]
        )
        mac = self._macs[key_id].copy()
        mac.update(canonical.encode())
        digest = mac.digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _escape(value: str) -> str:
    """``quote(value, safe="")``: percent-encoding every field keeps the newline separators
    unambiguous. Keys and types are unreserved characters and slashes, whose encoding is a
    replacement (``quote`` runs a Python call per character)."""
    if _UNRESERVED_OR_SLASH.fullmatch(value):
        return value.replace("/", "%2F")
    return quote(value, safe="")


def escape_path(value: str) -> str:
    """``quote(value, safe="/")``, the path of a URL to ``value`` (as :func:`_escape`)."""
    return value if _UNRESERVED_OR_SLASH.fullmatch(value) else quote(value, safe="/")


def query_string(params: Mapping[str, str]) -> str:
    """``params`` as a query string, every name and value percent-encoded (as
    ``urlencode(params, quote_via=quote)``; values already plain skip the encoder)."""
    return "&".join(f"{_escape(name)}={_escape(value)}" for name, value in params.items())


def _encode(grant: UrlGrant) -> dict[str, str]:
    values = {
        "expires": str(int(grant.expires_at.timestamp())),
        "type": grant.content_type,
        "length": None if grant.length is None else str(grant.length),
        "sha256": grant.sha256.lower() if grant.sha256 else None,
        "filename": grant.filename,
        _DISPOSITION_PARAM: _INLINE if grant.inline else None,
    }
    return {name: value for name, value in values.items() if value is not None}


def _single_valued(query: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in query:
        known = name in _BOUND_PARAMS or name in (KEY_ID_PARAM, SIGNATURE_PARAM, _DISPOSITION_PARAM)
        if not known or name in params:
            raise _mismatch()
        params[name] = value
    return params


def _decode(method: str, key: str, params: Mapping[str, str]) -> UrlGrant:
    """Parse signed fields; they were produced by ``_encode``, so failure means a bad signer."""
    try:
        expires_at = datetime.fromtimestamp(int(params["expires"]), UTC)
        length = int(params["length"]) if "length" in params else None
    except (KeyError, ValueError, OverflowError, OSError) as exc:
        raise _mismatch() from exc
    sha256 = params.get("sha256") or None
    if (length is not None and length < 0) or (sha256 and not _SHA256_HEX.fullmatch(sha256)):
        raise _mismatch()
    if params.get(_DISPOSITION_PARAM, _INLINE) != _INLINE:
        raise _mismatch()
    return UrlGrant(
        method=method.upper(),
        key=key,
        expires_at=expires_at,
        content_type=params.get("type", ""),
        length=length,
        sha256=sha256,
        filename=params.get("filename") or None,
        inline=_DISPOSITION_PARAM in params,
    )


def _mismatch() -> FilegateError:
    return FilegateError(ErrorCode.SIGNATURE_MISMATCH, "The URL's signature is not valid.")
