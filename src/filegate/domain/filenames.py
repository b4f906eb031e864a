"""Client filenames are display metadata: make them safe to store, show and download as."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_FILENAME_BYTES = 255
FALLBACK_FILENAME = "file"

# Controls, invisible format characters (bidi overrides that disguise an extension, zero
# widths), lone surrogates (not encodable) and line/paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_DROPPED_CHARACTERS = frozenset("\"'")
_PATH_SEPARATORS = re.compile(r"[/\\]")
_EDGE_JUNK = re.compile(r"^[\s.]+|[\s.]+$")
_MAX_EXTENSION_BYTES = 16
_ASCII_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\/%]')


def sanitize_filename(name: str) -> str:
    """A safe display name for ``name``: its last path part, cleaned, at most 255 UTF-8 bytes.

    The result has no ``/`` or ``\\``, no control or invisible format characters, no quotes,
    no leading or trailing whitespace or dots, is NFC-normalised, keeps other Unicode, keeps
    the extension when it must be shortened, and is never empty (``"file"`` instead).
    Idempotent: sanitising a sanitised name changes nothing.
    """
    parts = [p for p in _PATH_SEPARATORS.split(unicodedata.normalize("NFC", name)) if p]
    last = parts[-1] if parts else ""
    kept = "".join(ch for ch in last if _is_kept(ch))
    trimmed = _strip_edges(unicodedata.normalize("NFC", kept))
    return _strip_edges(_fit(trimmed, MAX_FILENAME_BYTES)) or FALLBACK_FILENAME


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """An ``attachment`` (or ``inline``) header naming the sanitised ``filename`` (RFC 6266,
    RFC 8187).

    ``filename`` is an ASCII approximation for old clients; ``filename*`` is the exact name.
    """
    name = sanitize_filename(filename)
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    fallback = _ASCII_UNSAFE.sub("_", ascii_name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _is_kept(ch: str) -> bool:
    return ch not in _DROPPED_CHARACTERS and unicodedata.category(ch) not in _DROPPED_CATEGORIES


def _strip_edges(name: str) -> str:
    return _EDGE_JUNK.sub("", name)


def _fit(name: str, max_bytes: int) -> str:
    """Shorten ``name`` to ``max_bytes`` UTF-8 bytes, cutting the stem, not a short extension."""
    if len(name.encode()) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = dot + extension
    if not stem or len(suffix.encode()) > _MAX_EXTENSION_BYTES:
        stem, suffix = name, ""
    room = max_bytes - len(suffix.encode())
    return _truncate_utf8(stem, room) + suffix


def _truncate_utf8(text: str, max_bytes: int) -> str:
    # "ignore" drops a character the cut split in half.
    return text.encode()[:max_bytes].decode(errors="ignore")
