"""An ``ImageInspector`` fake that answers from a script."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from filegate.domain.errors import BackendUnavailable
from filegate.domain.models import (
    ImageInfo,
    Inspection,
    Rendition,
    RenditionFile,
    RenditionName,
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

    Renditions, as the port promises: when ``renders`` holds bytes for a rendition name,
    an *accepted* inspection asked with a ``renditions_dir`` writes each of them there (as
    ``<name>.webp``, ``image/webp``) and lists them; a rejection, or a call without a
    directory, writes and lists none. Every directory given is recorded in
    ``renditions_dirs``.
    """

    def __init__(self, default: Inspection = DEFAULT_INSPECTION) -> None:
        self.default = default
        self.failure: BackendUnavailable | None = None
        self.inspected: list[Path] = []
        self.renders: dict[RenditionName, bytes] = {}
        self.renditions_dirs: list[Path] = []
        self._answers: dict[Path, Inspection] = {}

    def script(self, path: Path, inspection: Inspection) -> None:
        """Answer ``inspection`` for ``path`` from now on."""
        self._answers[path] = inspection

    async def inspect(self, path: Path, renditions_dir: Path | None = None) -> Inspection:
        self.inspected.append(path)
        if renditions_dir is not None:
            self.renditions_dirs.append(renditions_dir)
        if self.failure is not None:
            raise self.failure
        answer = self._answers.get(path, self.default)
        if renditions_dir is None or answer.reason is not None or not self.renders:
            return answer
        return dataclasses.replace(answer, renditions=self._render(renditions_dir))

    def _render(self, folder: Path) -> tuple[RenditionFile, ...]:
        written = []
        for name, data in self.renders.items():
            path = folder / f"{name.value}.webp"
            path.write_bytes(data)
            edge = 320 if name is RenditionName.THUMB else 1600
            rendition = Rendition(name, "image/webp", edge, edge * 3 // 4, len(data))
            written.append(RenditionFile(rendition, str(path)))
        return tuple(written)
