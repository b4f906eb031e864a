"""Rejection reasons in plain words, for people reading a summary."""

from __future__ import annotations

REASONS: dict[str, str] = {
    "EMPTY_FILE": "the file is empty",
    "SIZE_MISMATCH": "the stored size differs from the declared size",
    "CHECKSUM_MISMATCH": "the stored bytes differ from the declared SHA-256",
    "NOT_AN_IMAGE": "the bytes are not an image",
    "UNSUPPORTED_FORMAT": "an image format that is not accepted",
    "TYPE_MISMATCH": "the image is of another type than declared",
    "CORRUPT_IMAGE": "the image is truncated or corrupt",
    "IMAGE_TOO_LARGE": "the image has too many pixels",
    "TOO_MANY_FRAMES": "the animation has too many frames",
    "DECODE_TIMEOUT": "decoding the image took too long",
    "DECODE_MEMORY_EXCEEDED": "decoding the image needed too much memory",
    "DECODER_CRASH": "the decoder crashed on this file every time it tried",
    "UPLOAD_EXPIRED": "no bytes arrived before the upload deadline",
    "DELETED_BY_OWNER": "deleted by its owner",
}


def explain(reason: str | None) -> str:
    """``reason`` (a rejection or transition code) in plain words; unknown codes as they are."""
    if reason is None:
        return ""
    return REASONS.get(reason, reason.replace("_", " ").lower())
