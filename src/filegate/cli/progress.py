"""Live progress of ``filegate upload``: a bar per file in flight, and the total below.

With a few files every bar stays on screen to the end; with many, a finished file leaves
the live area and is printed as one line above it. Without a terminal there are no bars,
only those lines.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column

from filegate.client import FileState, UploadOutcome, UploadPhase, UploadProgress

KEEP_FINISHED_BARS = 10
"""Up to this many files, finished bars stay on screen."""
_NAME_WIDTH = 28
_STATE_STYLES = {
    FileState.READY: "green",
    FileState.UPLOADED: "cyan",
    FileState.REJECTED: "red",
}


def outcome_state(outcome: UploadOutcome) -> str:
    """``failed``, or the file's state after its upload."""
    return "failed" if outcome.file is None else outcome.file.state.value


def state_markup(state: str) -> str:
    """``state`` coloured for rich (ready green, rejected red, failed bold red)."""
    style = "bold red" if state == "failed" else _STATE_STYLES.get(FileState(state), "")
    return f"[{style}]{state}[/]" if style else state


class UploadDisplay:
    """Shows the progress of uploading ``labels`` (``sizes`` bytes each) on ``console``.

    The total counts bytes sent to the store: a failed or deduplicated file's unsent bytes
    leave it, so it completes when every file has an outcome. :meth:`on_progress` and
    :meth:`on_outcome` may be called from any thread.
    """

    def __init__(self, console: Console, labels: list[str], sizes: list[int]) -> None:
        self._console = console
        self._labels = labels
        self._sizes = sizes
        self._keep = len(labels) <= KEEP_FINISHED_BARS
        self._lock = threading.Lock()
        self._tasks: dict[int, TaskID] = {}
        self._sent: dict[int, int] = {}
        self._finished = 0
        self.printed: list[str] = []
        self.files = Progress(*_columns(), console=console)
        self.overall = Progress(*_columns(), console=console)
        self._total = self.overall.add_task("[bold]total", total=sum(sizes), status=self._count())
        self._live = Live(self.final_renderable(), console=console, refresh_per_second=8)

    def __enter__(self) -> Self:
        if self._console.is_terminal:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()

    def on_progress(self, event: UploadProgress) -> None:
        with self._lock:
            task = self._task(event.index)
            total = event.total or None
            self.files.update(task, completed=event.done, total=total, status=event.phase.value)
            if event.phase is UploadPhase.UPLOADING:
                self._sent[event.index] = event.done
                self.overall.update(self._total, completed=sum(self._sent.values()))

    def on_outcome(self, outcome: UploadOutcome) -> None:
        with self._lock:
            self._finished += 1
            state = outcome_state(outcome)
            task = self._task(outcome.index)
            size, sent = self._sizes[outcome.index], self._sent.get(outcome.index, 0)
            if _sent_whole(outcome):
                self._sent[outcome.index] = sent = size  # the last report may be throttled
            else:  # failed, or deduplicated: its unsent bytes will never be sent
                self._overall_total_shrinks_by(size - sent)
            done = sent if outcome.file is None else size
            self.files.update(task, completed=done, total=size, status=state_markup(state))
            completed = sum(self._sent.values())
            self.overall.update(self._total, completed=completed, status=self._count())
            if not self._keep or not self._live.is_started:
                self.files.update(task, visible=False)
                self._print_line(outcome, state)

    def final_renderable(self) -> RenderableType:
        """The bars as they are now: the files, then the total."""
        return Group(self.files, self.overall)

    def _task(self, index: int) -> TaskID:
        if index not in self._tasks:
            label = escape(_shortened(self._labels[index]))
            size = self._sizes[index] or None
            self._tasks[index] = self.files.add_task(label, total=size, status="waiting")
        return self._tasks[index]

    def _overall_total_shrinks_by(self, unsent: int) -> None:
        # Set on the task itself: Progress.update(total=...) would forget the speed samples.
        # The total thus completes once every file has an outcome, whatever they were.
        task = self.overall.tasks[0]
        task.total = max(0.0, (task.total or 0) - unsent)

    def _count(self) -> str:
        return f"{self._finished}/{len(self._labels)} files"

    def _print_line(self, outcome: UploadOutcome, state: str) -> None:
        padding = " " * max(1, 10 - len(state))
        deduplicated = outcome.file is not None and outcome.file.deduplicated
        dedup = " (deduplicated)" if deduplicated else ""
        line = f"{state_markup(state)}{padding}{escape(outcome.label)}{dedup}"
        self.printed.append(line)
        self._console.print(line, highlight=False)


def _sent_whole(outcome: UploadOutcome) -> bool:
    """Whether the outcome's file went to the store whole (not failed, not deduplicated)."""
    return outcome.file is not None and not outcome.file.deduplicated


def _columns() -> tuple[ProgressColumn, ...]:
    name = Column(width=_NAME_WIDTH, no_wrap=True, overflow="ellipsis")
    return (
        TextColumn("{task.description}", table_column=name),
        TextColumn("{task.fields[status]}", table_column=Column(width=10)),
        BarColumn(bar_width=24),
        DownloadColumn(table_column=Column(width=16, justify="right")),
        TransferSpeedColumn(table_column=Column(width=10, justify="right")),
        TimeRemainingColumn(),
    )


def _shortened(label: str) -> str:
    """The end of a long path (its file name matters most)."""
    return label if len(label) <= _NAME_WIDTH else "…" + label[-(_NAME_WIDTH - 1) :]
