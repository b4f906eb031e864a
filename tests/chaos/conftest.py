"""The chaos suite (``make chaos``): its figures are printed once all scenarios ran."""

from __future__ import annotations

import pytest

from tests.chaos.harness import FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES.scenarios:
        return
    terminalreporter.section("chaos figures")
    for line in FIGURES.summary():
        terminalreporter.write_line(line)
