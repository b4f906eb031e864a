"""Where a pass's CPU time went, by kind of process, from Linux's ``/proc``.

The end-to-end passes run filegate's processes beside what stands in for the cloud (moto's
S3 and SQS), PostgreSQL and the load generator, all on the same two cores. A throughput
ratio alone does not say how much of the machine filegate itself used; this does. Each
process is put under the first of its ancestors (itself included) whose command line names
a known kind, so that a worker's decode processes count as the worker's. Processes that
start or end during the pass count only for the part of their life a snapshot saw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")
KINDS = (
    ("moto", "moto_server"),
    ("api", "--no-worker"),
    ("serve", "filegate serve"),
    ("worker", "filegate worker"),
    ("postgres", "postgres"),
)
"""(kind, what its command line contains), the first that matches wins."""


@dataclass(frozen=True)
class _Process:
    parent: int
    command: str
    seconds: float


@dataclass(frozen=True)
class CpuSplit:
    """CPU seconds by kind (``other``: everything else, the load generator included)."""

    seconds: dict[str, float]

    def since(self, earlier: CpuSplit) -> CpuSplit:
        kinds = set(self.seconds) | set(earlier.seconds)
        return CpuSplit(
            {k: self.seconds.get(k, 0.0) - earlier.seconds.get(k, 0.0) for k in sorted(kinds)}
        )

    def describe(self) -> str:
        """``kind share %`` for every kind that used CPU, largest first."""
        total = sum(value for value in self.seconds.values() if value > 0)
        if total <= 0:
            return "no CPU time seen"
        parts = sorted(self.seconds.items(), key=lambda item: -item[1])
        shares = [f"{kind} {100 * value / total:.0f}%" for kind, value in parts if value > 0]
        return f"{total:.0f} CPU-s: " + ", ".join(shares)


def snapshot() -> CpuSplit:
    """The CPU time every live process has used so far, by kind."""
    processes = _processes()
    totals: dict[str, float] = {}
    for pid, process in processes.items():
        kind = _kind_of(pid, processes)
        totals[kind] = totals.get(kind, 0.0) + process.seconds
    return CpuSplit(totals)


def _kind_of(pid: int, processes: dict[int, _Process]) -> str:
    seen: set[int] = set()
    while pid in processes and pid not in seen:
        seen.add(pid)
        command = processes[pid].command
        for kind, marker in KINDS:
            if marker in command:
                return kind
        pid = processes[pid].parent
    return "other"


def _processes() -> dict[int, _Process]:
    found: dict[int, _Process] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        # The second field (the name) may contain spaces and parentheses: split after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        parent, user, system = int(fields[1]), int(fields[11]), int(fields[12])
        found[int(entry.name)] = _Process(parent, command, (user + system) / _TICKS)
    return found
