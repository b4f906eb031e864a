"""Where renditions live: next to their original, under keys derived from its key."""

from __future__ import annotations

from filegate.domain.models import RenditionName


def rendition_key(object_key: str, name: RenditionName) -> str:
    """The key of ``name`` for the original stored under ``object_key``."""
    return f"{object_key}.{name.value}"


def rendition_keys(object_key: str) -> tuple[str, ...]:
    """Every key a rendition of ``object_key`` may have (for deleting them all)."""
    return tuple(rendition_key(object_key, name) for name in RenditionName)


def is_rendition_key(key: str) -> bool:
    """Whether ``key`` names a rendition (server-made) rather than an uploaded original.

    Originals' keys (``{owner-hash}/{file-id}``, hex only) never contain a dot, so a key
    ending in ``.thumb`` or ``.preview`` is always a rendition's.
    """
    return any(key.endswith(f".{name.value}") for name in RenditionName)
