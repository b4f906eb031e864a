"""What every browser test shares: how Chromium is launched, the page's reported errors,
and screenshots kept as test artifacts."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: Playwright never downloads a browser of its own here."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}


class PageProblems:
    """Console errors and uncaught exceptions the watched pages produced."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))
        return page

    def forgive(self, fragment: str) -> None:
        """Drop the messages so far that contain ``fragment`` (a failure the test caused)."""
        self.messages = [m for m in self.messages if fragment not in m]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text}")


def screenshot(page: Page, name: str) -> Path:
    """Save what ``page`` shows as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=path)
    return path
