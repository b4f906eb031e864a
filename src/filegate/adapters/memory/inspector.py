"""An ``ImageInspector`` fake that answers from a script."""

from __future__ import annotations

from pathlib import Path

from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    ImageInfo,
    Inspection,
)

DEFAULT_INSPECTION = Inspection(
    reason=None,
    content_type="image/jpeg",
    image=ImageInfo(format="JPEG", width=64, height=48, orientation=1, mode="RGB"),
)
"""What :class:`ScriptedInspector` answers unless told otherwise: a valid 64x48 JPEG."""


class ScriptedInspector:
    """An ``ImageInspector`` that answers from a script instead of decoding anything.

    ``script(path, inspection)`` fixes the answer for one path; other paths get
    ``default``. While ``failure`` is set, every call raises it (a pool that is down).
    Every path asked about is recorded, in order, in ``inspected``.
    """

    def __init__(self, default: Inspection = DEFAULT_INSPECTION) -> None:
        self.default = default
        self.failure: BackendUnavailable | None = None
        self.inspected: list[Path] = []
        self._answers: dict[Path, Inspection] = {}

    def script(self, path: Path, inspection: Inspection) -> None:
        """Answer ``inspection`` for ``path`` from now on."""
        self._answers[path] = inspection

    async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
        self.inspected.append(path)
        if self.failure is not None:
            raise self.failure
        return self._answers.get(path, self.default)
