"""Image inspection: what the bytes of an uploaded file are."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from filegate.domain.models import (
    Inspection,
)


class ImageInspector(Protocol):
    """Identifies and decodes an image file within the configured limits."""

    async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
        """What the bytes at ``path`` are; raises ``BackendUnavailable`` if the pool fails.

        When ``renditions_dir`` is given and the image is accepted, the configured
        renditions are written there (made from the same decode) and listed in the
        inspection; the caller owns the directory and its files.
        """
        ...
