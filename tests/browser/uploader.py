"""The uploader page as the tests see it: what a person clicks, reads and waits for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SETTLE_MS = 30_000
"""Longest wait for a file to be verified (the worker decides in well under a second)."""


@dataclass(frozen=True)
class UploaderPage:
    page: Page
    base_url: str

    def open(self, path: str = "/") -> None:
        """Go to the page and wait until it may take files."""
        self.page.goto(f"{self.base_url}{path}")
        expect(self.choose).to_be_enabled()

    @property
    def choose(self) -> Locator:
        return self.page.get_by_role("button", name="Choose images…")

    @property
    def phone(self) -> Locator:
        return self.page.get_by_role("button", name="Add from phone…")

    @property
    def cards(self) -> Locator:
        return self.page.locator("li.file")

    def pick(self, paths: Sequence[Path]) -> None:
        """Pick files with the (hidden) file input, as the chooser would."""
        self.page.set_input_files("#picker", [str(path) for path in paths])

    def card(self, name: str) -> Locator:
        return self.page.locator(f'li.file[data-name="{name}"]')

    def expect_state(
        self, name: str, state: str | re.Pattern[str], timeout: float = SETTLE_MS
    ) -> Locator:
        """The card of ``name`` once its ``data-state`` is ``state`` (or matches it)."""
        card = self.card(name)
        expect(card).to_have_attribute("data-state", state, timeout=timeout)
        return card

    def button(self, label: str) -> Locator:
        return self.page.get_by_role("button", name=label, exact=True)

    def preview_loaded(self, name: str) -> bool:
        """Whether the card of ``name`` shows a decoded preview image."""
        image = self.card(name).locator("img")
        expect(image).to_have_js_property("complete", True)
        return bool(image.evaluate("img => img.naturalWidth > 0"))
