"""Browser tests: Debian's Chromium, driven by Playwright, against the real server.

Without ``/usr/bin/chromium`` the tests skip locally and fail under ``CI=true``. One server
and one browser serve the whole package; every test gets a fresh browser context (so a
fresh guest session), fails on any console error or uncaught exception of the page, and
leaves a screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PageProblems, screenshot
from tests.browser.uploader import UploaderPage
from tests.e2e.server import RunningServer, running_server
from tests.services import require


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    require("Chromium", CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """``filegate serve`` (API, local store, worker), quick to gather a batch."""
    env = {"FILEGATE_BATCH_WINDOW_SECONDS": "0.1", "FILEGATE_SESSION_RATE_PER_MINUTE": "0"}
    with running_server(tmp_path_factory.mktemp("browser") / "data", env) as running:
        yield running


@pytest.fixture
def problems() -> Iterator[PageProblems]:
    seen = PageProblems()
    yield seen
    assert seen.messages == [], "the page reported errors"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    yield created
    created.close()


@pytest.fixture
def uploader(
    context: BrowserContext,
    server: RunningServer,
    problems: PageProblems,
    request: pytest.FixtureRequest,
) -> Iterator[UploaderPage]:
    """The page at ``/`` in a fresh context, open and ready to take files."""
    page = problems.watch(context.new_page())
    opened = UploaderPage(page, server.url)
    opened.open()
    yield opened
    screenshot(page, request.node.name)
